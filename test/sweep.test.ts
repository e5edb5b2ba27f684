/**
 * `ossify sweep` end to end on the bundled sample with the smoke grid (the configuration of
 * train.test.ts and resume.test.ts, whose kernels are shared): both rows train, are tested and
 * reported with intervals and a paired comparison; a rerun skips finished runs; a sweep killed mid-run
 * and rerun resumes and ends with the report of an uninterrupted one; bad input is refused before
 * anything runs.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SweepReport } from '../src/train/sweep-report.js';

const root = resolve(__dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const sample = join(root, 'data', 'fracatlas-sample');
const env = { ...process.env, OSSIFY_QUIET: '1' };
const SMOKE = ['sweep', '--grid', 'smoke', '--data', sample, '--workers', '0'];
const tmp = (name: string): string => mkdtempSync(join(tmpdir(), `ossify-sweep-${name}-`));
const report = (out: string): SweepReport => JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));

function ossify(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 280_000 });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr
      .split('\n')
      .filter((l) => !l.startsWith('Warning: '))
      .join('\n'),
  };
}

/** The report without what differs between two sweeps of the same runs: times and the adapter's words. */
function results(r: SweepReport): unknown {
  return { ...r, adapters: [], runs: r.runs.map(({ timing: _, adapter: __, ...rest }) => rest) };
}

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npx', ['tsup'], { cwd: root, stdio: 'ignore' });
});

describe('ossify sweep', () => {
  it('--grid smoke trains both rows, tests them and reports their intervals and a paired comparison', () => {
    const out = tmp('smoke');
    const r = ossify([...SMOKE, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sweep smoke: 2 run\(s\) done, 0 skipped/);
    const rep = report(out);
    expect(rep.rows.map((x) => x.label)).toEqual(['InceptionV3 + 3 BAM, scratch', 'InceptionV3, scratch']);
    // The sample has no test split: its 12 validation images, said so.
    expect(rep.tests.map((t) => [t.kind, t.n, t.positives])).toEqual([['val', 12, 6]]);
    expect(rep.notes.join(' ')).toMatch(/no test split: the runs were tested on its validation split/);
    for (const run of rep.runs) {
      expect(run.n).toBe(12);
      expect(run.confusion.flat().reduce((a, b) => a + b, 0)).toBe(12);
      for (const [k, v] of [
        ['accuracy', run.accuracy],
        ['f1', run.fractured.f1],
        ['auc', run.auc],
      ] as const) {
        const [lo, hi] = run.ci[k];
        expect(lo, `${run.name} ${k}`).toBeLessThanOrEqual(v);
        expect(hi, `${run.name} ${k}`).toBeGreaterThanOrEqual(v);
      }
      expect(run.epochs).toEqual({ run: 1, planned: 1, best: 1, cut: null });
      expect(run.timing.images_per_s).toBeGreaterThan(0);
      const csv = readFileSync(join(out, 'runs', run.name, 'predictions.csv'), 'utf8')
        .trim()
        .split('\n');
      expect(csv[0]).toBe('image_id,label,probability');
      expect(csv).toHaveLength(13);
    }
    expect(rep.comparisons).toHaveLength(1);
    const c = rep.comparisons[0]!;
    expect([c.kind, c.a, c.b, c.n]).toEqual(['bam', 'inceptionv3-bam-s0', 'inceptionv3-nobam-s0', 12]);
    expect(c.mcnemar.b + c.mcnemar.c).toBeLessThanOrEqual(12);
    expect(c.auc_difference.lo).toBeLessThanOrEqual(c.auc_difference.hi);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('| InceptionV3 + 3 BAM, scratch | 1 |');
    expect(md).toContain('| InceptionV3, scratch | 1 |');
    expect(md).toContain(`- ${c.sentence}`);
    expect(existsSync(join(out, 'intervals.svg'))).toBe(true);

    // A rerun skips the finished runs and writes the same report; temp files a killed write left go.
    const stale = [
      join(out, '.report.json.99999999.k3j4h5.tmp'),
      join(out, 'runs', c.b, '.result.json.99999999.a1b2c3.tmp'),
    ];
    for (const f of stale) writeFileSync(f, 'partial');
    const again = ossify([...SMOKE, '--out', out]);
    expect(again.status, again.stderr).toBe(0);
    for (const f of stale) expect(existsSync(f), f).toBe(false);
    expect(again.stdout.match(/done before/g)).toHaveLength(2);
    expect(report(out)).toEqual(rep);

    // The same folder with other options is refused, naming the runs, and left as it was.
    const other = ossify([...SMOKE, '--out', out, '--set', 'epochs=2']);
    expect(other.stderr).toMatch(
      new RegExp(
        `${out} holds a sweep of grid smoke with other options for inceptionv3-bam-s0, inceptionv3-nobam-s0; rerun`,
      ),
    );
    expect(other.status).toBe(1);
    expect(report(out)).toEqual(rep);

    // The report of the folder alone (as shards merge) is the same too.
    const merged = tmp('merged');
    const m = ossify(['sweep', 'report', out, '--out', merged]);
    expect(m.status, m.stderr).toBe(0);
    expect(report(merged)).toEqual(rep);
  });

  it('killed mid-run and rerun, it resumes and ends with the report of an uninterrupted sweep', async () => {
    // Four epochs, so that the kill lands between the second run's first checkpoint and its end.
    const args = (out: string): string[] => [...SMOKE, '--out', out, '--set', 'epochs=4'];
    const killed = tmp('killed');
    const last = join(killed, 'runs', 'inceptionv3-nobam-s0', 'last.safetensors');
    const child = spawn(process.execPath, [cli, ...args(killed)], { env, stdio: 'ignore' });
    await new Promise<void>((res, rej) => {
      const t = setInterval(() => {
        if (existsSync(last)) {
          clearInterval(t);
          child.kill('SIGKILL');
          res();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(t);
        res();
      });
      setTimeout(() => rej(new Error('the second run never finished an epoch')), 280_000);
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(existsSync(join(killed, 'runs', 'inceptionv3-bam-s0', 'result.json'))).toBe(true);
    expect(existsSync(join(killed, 'runs', 'inceptionv3-nobam-s0', 'result.json'))).toBe(false);
    expect(existsSync(join(killed, 'report.json'))).toBe(false);
    const resumed = ossify(args(killed));
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/inceptionv3-bam-s0: done before/);
    expect(resumed.stdout).toMatch(/resuming .*inceptionv3-nobam-s0 after epoch \d/);

    const straight = tmp('straight');
    const s = ossify(args(straight));
    expect(s.status, s.stderr).toBe(0);
    const a = report(killed);
    expect(a.runs.map((r) => r.epochs.run)).toEqual([4, 4]);
    expect(a.notes).toContain("Set for every run on the command line, over the grid's options: epochs=4.");
    expect(results(a)).toEqual(results(report(straight)));
    // The predictions themselves, image by image.
    for (const name of ['inceptionv3-bam-s0', 'inceptionv3-nobam-s0']) {
      const p = (dir: string): string => readFileSync(join(dir, 'runs', name, 'predictions.csv'), 'utf8');
      expect(p(killed)).toBe(p(straight));
    }
  });

  it('a time budget caps a run to the epochs that fit, the next waits; results without checkpoints count', () => {
    // A budget spent by the first epoch: the first run stops after it and is tested (--cap-epochs),
    // the second waits for the next invocation, as on a machine that starts bare every time.
    const out = tmp('budget');
    const args = [...SMOKE, '--out', out, '--set', 'epochs=3', '--max-minutes', '0.001', '--cap-epochs'];
    const first = ossify(args);
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /inceptionv3-nobam-s0: not started: the time budget \(--max-minutes 0\.001\) is spent; rerun to continue/,
    );
    let rep = report(out);
    expect(rep.runs.map((r) => [r.name, r.epochs])).toEqual([
      ['inceptionv3-bam-s0', { run: 1, planned: 3, best: 1, cut: 'time budget of 0.001 min' }],
    ]);
    expect(rep.pending).toEqual([{ name: 'inceptionv3-nobam-s0', label: 'InceptionV3, scratch' }]);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(
      /Epochs cut short: inceptionv3-bam-s0 after 1 of 3 \(time budget of 0\.001 min\)/,
    );
    // What comes back from such a machine: no checkpoints. The finished run is still skipped.
    for (const run of readdirSync(join(out, 'runs'))) {
      for (const f of readdirSync(join(out, 'runs', run)))
        if (f.endsWith('.safetensors')) rmSync(join(out, 'runs', run, f));
    }
    const second = ossify(args);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/inceptionv3-bam-s0: done before/);
    rep = report(out);
    expect(rep.runs.map((r) => [r.name, r.epochs.run, r.epochs.cut])).toEqual([
      ['inceptionv3-bam-s0', 1, 'time budget of 0.001 min'],
      ['inceptionv3-nobam-s0', 1, 'time budget of 0.001 min'],
    ]);
    expect(rep.pending).toEqual([]);
  });

  it('bad input is refused before anything runs, naming the problem', () => {
    const out = tmp('bad');
    const cases: [string[], number, RegExp][] = [
      [
        ['sweep', '--grid', 'seed-tabel', '--data', sample, '--out', out],
        2,
        /--grid: 'seed-tabel' is neither a built-in grid \(seed-table, seed-table-cpu, smoke\) nor a file/,
      ],
      [[...SMOKE, '--out', out, '--shard', '3/2'], 2, /--shard: '3\/2' is not valid; give I\/N with 1 <= I <= N/],
      [
        [...SMOKE, '--out', out, '--set', 'bam=false'],
        2,
        /--set: bam is an axis of grid smoke; pick runs with --only instead/,
      ],
      [[...SMOKE, '--out', out, '--set', 'epochs'], 2, /--set: 'epochs' is not KEY=VALUE/],
      [[...SMOKE, '--out', out, '--cap-epochs'], 2, /--cap-epochs needs --max-minutes M/],
      [[...SMOKE, '--out', out, '--resamples', '500'], 2, /--resamples: '500' is not valid; give an integer >= 2000/],
      [
        [...SMOKE, '--out', out, '--only', 'resnet*'],
        2,
        /--only resnet\* matches no run of grid smoke; its runs: inceptionv3-bam-s0, inceptionv3-nobam-s0/,
      ],
      [['sweep', 'report', join(out, 'none')], 2, /sweep report: '.*none' does not exist/],
    ];
    const grid = join(out, 'grid.json');
    writeFileSync(grid, JSON.stringify({ fixed: { lr: 0 } }));
    cases.push([
      ['sweep', '--grid', grid, '--data', sample, '--out', out],
      1,
      new RegExp(`grid ${grid}: fixed.lr: 0 is not valid; give a number > 0`),
    ]);
    for (const [args, status, message] of cases) {
      const r = ossify(args);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.status, args.join(' ')).toBe(status);
    }
    expect(readdirSync(out)).toEqual(['grid.json']);
  });
});
