/**
 * No data is lost on a kill: `ossify train` killed with SIGKILL mid-run and rerun with the same
 * command continues after the last completed epoch, and ends where an uninterrupted run ends
 * (training is deterministic given the seed on one adapter). Also `ossify eval --json` on the result.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const cli = join(root, 'dist', 'cli.js');
const sample = join(root, 'data', 'fracatlas-sample');

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npx', ['tsup'], { cwd: root, stdio: 'ignore' });
});

const args = (out: string) => [
  'train',
  '--data',
  sample,
  '--out',
  out,
  '--epochs',
  '3',
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
const env = { ...process.env, OSSIFY_QUIET: '1' };
const logLines = (out: string) =>
  existsSync(join(out, 'log.jsonl'))
    ? readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').filter(Boolean)
    : [];

describe('kill and resume', () => {
  it('a SIGKILLed run resumes after its last completed epoch and matches an uninterrupted run', async () => {
    const killed = mkdtempSync(join(tmpdir(), 'ossify-kill-'));
    const child = spawn(process.execPath, [cli, ...args(killed)], { env, stdio: 'ignore' });
    // Kill as soon as the first epoch is checkpointed, while the second one trains.
    await new Promise<void>((res, rej) => {
      const t = setInterval(() => {
        if (existsSync(join(killed, 'last.safetensors'))) {
          clearInterval(t);
          child.kill('SIGKILL');
          res();
        }
      }, 50);
      child.on('exit', () => {
        clearInterval(t);
        res();
      });
      // cold shader compiles: see vitest.config.ts
      setTimeout(() => rej(new Error('first epoch never finished')), 280_000);
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(logLines(killed).length).toBeLessThan(3);
    const resumed = execFileSync(process.execPath, [cli, ...args(killed)], { env, encoding: 'utf8' });
    expect(resumed).toMatch(/resuming/);
    const a = logLines(killed).map((l) => JSON.parse(l));
    expect(a.map((e) => e.epoch)).toEqual([1, 2, 3]);

    const straight = mkdtempSync(join(tmpdir(), 'ossify-straight-'));
    execFileSync(process.execPath, [cli, ...args(straight)], { env, encoding: 'utf8' });
    const b = logLines(straight).map((l) => JSON.parse(l));
    // Same seed, same adapter: the same losses, epoch for epoch.
    for (let i = 0; i < 3; i++) {
      expect(a[i].train_loss).toBe(b[i].train_loss);
      expect(a[i].val_loss).toBe(b[i].val_loss);
    }

    const json = join(straight, 'eval.json');
    const evalOut = execFileSync(
      process.execPath,
      [
        cli,
        'eval',
        '--checkpoint',
        join(straight, 'best.safetensors'),
        '--data',
        sample,
        '--split',
        'val',
        '--json',
        json,
        '--workers',
        '0',
      ],
      { env, encoding: 'utf8' },
    );
    expect(evalOut).toMatch(/accuracy/);
    const m = JSON.parse(readFileSync(json, 'utf8'));
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'auc', 'balanced_accuracy', 'confusion', 'weighted'])
      expect(m).toHaveProperty(k);
    const [[tn, fp], [fn, tp]] = m.confusion;
    expect(tn + fp + fn + tp).toBe(12);
    // Four CLI processes in a row, each compiling its pipelines: 18 s alone, but over 120 s once while
    // the other test worker shared the machine's two cores.
  }, 900_000);
});
