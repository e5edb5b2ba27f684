/**
 * The `ossify` command on bad input: every mistake ends with one message that names the problem and
 * the fix, no stack trace, a non-zero exit code (2 for usage, 1 for the rest) and no files lost.
 * Runs the built CLI (dist/cli.js) on the configuration of resume.test.ts, whose kernels are shared.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint } from '../src/io/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { rng } from './helpers.js';

const root = resolve(__dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const sample = join(root, 'data', 'fracatlas-sample');
const env = { ...process.env, OSSIFY_QUIET: '1' };
const TRAIN = [
  '--epochs',
  '1',
  '--batch-size',
  '4',
  '--max-batches',
  '2',
  '--image-size',
  '75',
  '--width',
  '0.125',
  '--workers',
  '0',
  '--no-report',
];
const tmp = (name: string): string => mkdtempSync(join(tmpdir(), `ossify-cli-${name}-`));

/** Run the CLI; `stderr` without the adapter's own warnings (Dawn prints them on every start). */
function ossify(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 280_000 });
  const stderr = r.stderr
    .split('\n')
    .filter((l) => !l.startsWith('Warning: '))
    .join('\n');
  return { status: r.status, stdout: r.stdout, stderr };
}

/** The exit code and one clear message, without a stack trace. */
function expectFailure(r: ReturnType<typeof ossify>, status: number, message: RegExp): void {
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.status).toBe(status);
}

let run = '';
const image = (dir: string): string => join(sample, 'images', dir, readdirSync(join(sample, 'images', dir)).sort()[0]);

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npx', ['tsup'], { cwd: root, stdio: 'ignore' });
  run = tmp('run');
  const r = ossify(['train', '--data', sample, '--out', run, ...TRAIN]);
  expect(r.status, r.stderr).toBe(0);
});

describe('usage', () => {
  it('no command prints the usage on stderr and exits 2', () => {
    const r = ossify([]);
    expectFailure(r, 2, /no command given[\s\S]*usage: ossify <command>/);
    expect(r.stdout).toBe('');
  });

  it('a negative number given as a separate argument gets the range error', () => {
    const best = join(run, 'best.safetensors');
    const out = tmp('negative');
    const cases: [string[], RegExp][] = [
      [['train', '--out', out, '--epochs', '-1'], /--epochs: '-1' is not valid; give a positive integer/],
      [['train', '--out', out, '--lr', '-0.5'], /--lr: '-0.5' is not valid; give a number > 0/],
      [['eval', '--checkpoint', best, '--data', sample, '--batch-size', '-4'], /--batch-size: '-4' is not valid/],
      [['summary', '--model', 'inceptionv3', '--classes', '-2'], /--classes: '-2' is not valid/],
    ];
    for (const [args, message] of cases) {
      const r = ossify(args);
      expectFailure(r, 2, message);
      expect(r.stderr).not.toMatch(/ambiguous/);
    }
  });

  it('sizes no GPU can hold are refused before anything runs', () => {
    const out = tmp('size');
    const r = ossify(['train', '--out', out, '--image-size', '100000']);
    expectFailure(r, 2, /--image-size: '100000' is not valid; give an integer from 32 to 2048/);
    expect(readdirSync(out)).toEqual([]);
    const classes = ossify(['summary', '--model', 'inceptionv3', '--classes', '1e9']);
    expectFailure(classes, 2, /--classes: '1e9' is not valid; give an integer from 1 to 100000/);
  });

  it('a folder given as the checkpoint is called a folder, with the file it likely meant', () => {
    const r = ossify(['eval', '--checkpoint', run, '--data', sample]);
    const best = join(run, 'best.safetensors');
    expectFailure(r, 2, new RegExp(`--checkpoint: '${run}' is a folder, not a file \\(did you mean ${best}\\?\\)`));
  });
});

describe('run folder', () => {
  it('--out that is a file, lies under a file or under /proc fails with the reason', () => {
    const dir = tmp('out');
    const f = join(dir, 'afile');
    writeFileSync(f, 'x');
    const notFolder = new RegExp(`cannot create the run folder ${f}: ${f} is a file, not a folder`);
    expectFailure(ossify(['train', '--out', f, ...TRAIN]), 1, notFolder);
    expectFailure(ossify(['train', '--out', join(f, 'run'), ...TRAIN]), 1, new RegExp(`${f} is a file, not a folder`));
    // Node's recursive mkdir loops forever here.
    const proc = ossify(['train', '--out', '/proc/ossify-test/run', ...TRAIN]);
    expectFailure(proc, 1, /\/proc does not accept new folders/);
  });

  it('rerunning a run with another --lr is refused, naming the option, and config.json stays as it was', () => {
    const before = readFileSync(join(run, 'config.json'), 'utf8');
    const r = ossify(['train', '--data', sample, '--out', run, ...TRAIN, '--lr', '0.01']);
    expectFailure(r, 1, /trained with other options:\n\s+--lr 0\.001 in the run, 0\.01 now\n.*another --out folder/);
    expect(readFileSync(join(run, 'config.json'), 'utf8')).toBe(before);
  });

  it('temp files that an interrupted write left are removed by the next run, those of a live process kept', () => {
    // Process ids above Linux's maximum (2^22) are never alive.
    const stale = [join(run, '.last.safetensors.99999999.k3j4h5.tmp'), join(run, '.config.json.99999999.a1b2c3.tmp')];
    const live = join(run, `.best.safetensors.${process.pid}.x9y8z7.tmp`);
    for (const f of [...stale, live]) writeFileSync(f, 'partial');
    const r = ossify(['train', '--data', sample, '--out', run, ...TRAIN]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/removed 2 temp file\(s\) of an interrupted write/);
    for (const f of stale) expect(existsSync(f), f).toBe(false);
    expect(existsSync(live)).toBe(true);
  });
});

describe('bad data', () => {
  it('a CSV of random bytes is named, without the bytes', () => {
    const data = tmp('csv');
    cpSync(sample, data, { recursive: true });
    const r0 = rng(5);
    writeFileSync(
      join(data, 'dataset.csv'),
      Uint8Array.from({ length: 3000 }, () => Math.floor(r0() * 256)),
    );
    const r = ossify(['train', '--data', data, '--out', tmp('csv-run'), ...TRAIN]);
    const csv = join(data, 'dataset.csv');
    expectFailure(r, 1, new RegExp(`${csv} is not a readable CSV file \\(it holds binary data, not text\\); fix it`));
    expect(r.stderr).toMatch(/^[\t\n\r\x20-\x7e]*$/);
  });

  it('a training set whose images all fail to decode stops with the reasons instead of training on nothing', () => {
    const data = tmp('corrupt');
    cpSync(sample, data, { recursive: true });
    // Keep each JPEG's headers and end marker (the dataset check passes) and zero its image data.
    for (const dir of ['Fractured', 'Non_fractured']) {
      for (const name of readdirSync(join(data, 'images', dir))) {
        const b = readFileSync(join(data, 'images', dir, name));
        b.fill(0, b.indexOf(Buffer.from([0xff, 0xda])) + 20, b.length - 2);
        writeFileSync(join(data, 'images', dir, name), b);
      }
    }
    const out = tmp('corrupt-run');
    const r = ossify(['train', '--data', data, '--out', out, ...TRAIN]);
    expectFailure(r, 1, /none of the 36 training images could be loaded \(IMG\d+: .*Corrupt JPEG data/);
    expect(existsSync(join(out, 'last.safetensors'))).toBe(false);
  });

  it('predict reports each unreadable image on stderr and exits 1; a truncated JPEG is one', () => {
    const dir = tmp('predict');
    const text = join(dir, 'notes.jpg');
    const empty = join(dir, 'empty.jpg');
    const truncated = join(dir, 'truncated.jpg');
    writeFileSync(text, 'not an image\n');
    writeFileSync(empty, '');
    const jpeg = readFileSync(image('Fractured'));
    writeFileSync(truncated, jpeg.subarray(0, jpeg.length >> 1));
    const good = image('Non_fractured');
    const best = join(run, 'best.safetensors');
    const r = ossify(['predict', '--checkpoint', best, '--heatmaps', join(dir, 'maps'), text, empty, truncated, good]);
    expectFailure(r, 1, /3 of 4 images could not be read/);
    expect(r.stderr).toMatch(new RegExp(`${text} could not be read: not an image ossify reads`));
    expect(r.stderr).toMatch(new RegExp(`${empty} could not be read: the file ends early \\(empty file\\)`));
    expect(r.stderr).toMatch(new RegExp(`${truncated} could not be read: the file ends early`));
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(new RegExp(`${good}: P\\(fractured\\) = 0\\.\\d{4}`));
    // A folder among the images is a usage error, before the model loads.
    expectFailure(ossify(['predict', '--checkpoint', best, dir]), 2, /image: '.*' is a folder, not a file/);
  });
});

describe('weights that do not fit', () => {
  /** A copy of the run's best checkpoint, changed by `edit`. */
  function editedCheckpoint(name: string, edit: (ck: ReturnType<typeof decodeCheckpoint>) => void): string {
    const ck = decodeCheckpoint(readFileSync(join(run, 'best.safetensors')));
    edit(ck);
    const path = join(tmp(name), 'best.safetensors');
    writeFileSync(path, encodeCheckpoint(ck));
    return path;
  }
  // The trainer's validation batch, whose kernels are compiled already.
  const evalArgs = (ckpt: string): string[] => [
    'eval',
    '--checkpoint',
    ckpt,
    '--data',
    sample,
    '--split',
    'val',
    '--workers',
    '0',
    '--batch-size',
    '4',
  ];

  it('--init-weights that fill 1 tensor of the model (another model) are refused, pointing to the flag', () => {
    const file = decodeSafetensors(readFileSync(join(run, 'best.safetensors')));
    // Every name but the first changed: what another architecture's weights look like.
    const renamed = new Map([...file.tensors].map(([k, t], i) => [i ? `other/${k}` : k, t]));
    const path = join(tmp('init'), 'other.safetensors');
    writeFileSync(path, encodeSafetensors(renamed));
    const out = tmp('init-run');
    const r = ossify(['train', '--data', sample, '--out', out, ...TRAIN, '--init-weights', path]);
    const refused = new RegExp(`initial weights ${path} match 1 of the model's \\d+ tensors: .*--allow-partial-init`);
    expectFailure(r, 1, refused);
    expect(existsSync(join(out, 'last.safetensors'))).toBe(false);
  });

  it('a checkpoint whose metadata disagrees with its weights gets a short error naming the file', () => {
    const path = editedCheckpoint('meta', (ck) => {
      (ck.config as { modelConfig: { widthMultiplier: number } }).modelConfig.widthMultiplier = 0.25;
    });
    const r = ossify(evalArgs(path));
    const described = '\\(inceptionV3 \\+ BAM, 75 px, width 0.25';
    expectFailure(r, 1, new RegExp(`${path}: its weights do not fit the model its metadata describes ${described}`));
    expect(r.stderr).toMatch(/more shape mismatches \(\d+ in all\)/);
    expect(r.stderr.trim().split('\n').length).toBeLessThan(12);
  });

  it('eval --json creates missing folders and refuses a file in the way before evaluating', () => {
    const dir = tmp('json');
    const json = join(dir, 'new', 'deeper', 'metrics.json');
    const r = ossify([...evalArgs(join(run, 'best.safetensors')), '--json', json]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8')).split).toBe('val');
    writeFileSync(join(dir, 'file'), 'x');
    const blocked = ossify([...evalArgs(join(run, 'best.safetensors')), '--json', join(dir, 'file', 'metrics.json')]);
    expectFailure(blocked, 1, /cannot create the folder of --json .*file is a file, not a folder/);
    expect(blocked.stdout).not.toMatch(/split val/);
  });

  it('a checkpoint holding NaN is called damaged, naming the tensor', () => {
    const path = editedCheckpoint('nan', (ck) => ck.weights.get('conv2d.kernel')!.data.fill(NaN, 3, 5));
    const damaged = new RegExp(`${path}: tensor 'conv2d.kernel' holds NaN at index 3: the file is damaged`);
    expectFailure(ossify(evalArgs(path)), 1, damaged);
  });

  it('a checkpoint whose outputs overflow says the weights diverged or are damaged', () => {
    const path = editedCheckpoint('huge', (ck) => {
      for (const t of ck.weights.values()) t.data.fill(3e38);
    });
    const r = ossify(evalArgs(path));
    expectFailure(r, 1, /the model's outputs are not finite numbers for 12 of 12 images .*diverged or are damaged/);
  });

  it('a diverging run stops at the first non-finite loss with the fix, and writes no checkpoint', () => {
    const out = tmp('diverge');
    const r = ossify(['train', '--data', sample, '--out', out, ...TRAIN, '--lr', '1e30']);
    expectFailure(r, 1, /training diverged: the loss of epoch 1, step \d+ is (NaN|-?Infinity)\. .* has no checkpoint/);
    expect(r.stderr).toMatch(/Start a new run \(another --out\) with a lower learning rate \(--lr, now 1e\+30\)/);
    expect(existsSync(join(out, 'last.safetensors'))).toBe(false);
    expect(existsSync(join(out, 'best.safetensors'))).toBe(false);
  });
});
