/**
 * Checkpoints: exact round trip of weights, optimizer slots, config and state; a crash while
 * saving (a leftover temp file, and a writer killed with SIGKILL mid-save) never corrupts the
 * previous checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { encodeCheckpoint, loadCheckpoint, saveCheckpoint, type Checkpoint } from '../src/io/checkpoint.js';
import { loadSafetensors, removeStaleTemps, type TensorData } from '../src/io/safetensors.js';
import { randArray } from './helpers.js';

function tensor(shape: number[], seed: number): TensorData {
  return {
    shape,
    data: Float32Array.from(
      randArray(
        shape.reduce((a, b) => a * b, 1),
        seed,
      ),
    ),
  };
}

function sample(step: number): Checkpoint {
  return {
    weights: new Map([
      ['conv2d.kernel', tensor([3, 3, 2, 4], step)],
      ['batch_normalization.moving_variance', tensor([4], step + 1)],
      ['dense.kernel', tensor([4, 2], step + 2)],
    ]),
    optimizer: new Map([
      ['m.conv2d.kernel', tensor([3, 3, 2, 4], step + 3)],
      ['v.conv2d.kernel', tensor([3, 3, 2, 4], step + 4)],
      ['step', { shape: [], data: new Float32Array([step]) }],
    ]),
    config: { model: 'densenet121', bam: true, lr: 1e-4, classes: ['no fracture', 'fracture'] },
    state: { epoch: 2, step, bestValLoss: 0.4123, rngSeed: 1234 },
  };
}

function expectSame(got: Checkpoint, want: Checkpoint): void {
  expect(got.config).toEqual(want.config);
  expect(got.state).toEqual(want.state);
  for (const [kind, a, b] of [
    ['weights', got.weights, want.weights],
    ['optimizer', got.optimizer!, want.optimizer!],
  ] as const) {
    expect([...a.keys()].sort(), kind).toEqual([...b.keys()].sort());
    for (const [name, t] of b) {
      expect(a.get(name)!.shape, name).toEqual(t.shape);
      expect([...a.get(name)!.data], name).toEqual([...t.data]);
    }
  }
}

describe('checkpoints', () => {
  it('round-trips weights, optimizer slots, config and state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ossify-ckpt-'));
    const path = join(dir, 'run.ckpt.safetensors');
    const ck = sample(7);
    await saveCheckpoint(path, ck);
    expectSame(await loadCheckpoint(path), ck);
    // The file is a plain weights file too: weights by name, optimizer slots under 'optimizer.'.
    const raw = await loadSafetensors(path);
    expect([...raw.tensors.keys()].sort()).toEqual([
      'batch_normalization.moving_variance',
      'conv2d.kernel',
      'dense.kernel',
      'optimizer.m.conv2d.kernel',
      'optimizer.step',
      'optimizer.v.conv2d.kernel',
    ]);
    expect(JSON.parse(raw.metadata.state)).toEqual(ck.state);
    // Without an optimizer, and with non-finite numbers (JSON has none) in the state.
    const state = { epoch: 0, bestValLoss: Infinity, worst: -Infinity, lastLoss: NaN, history: [1, Infinity] };
    await saveCheckpoint(path, { weights: ck.weights, config: {}, state });
    const noOpt = await loadCheckpoint(path);
    expect(noOpt.optimizer!.size).toBe(0);
    expect(noOpt.state).toEqual(state);
  });

  it('rejects a weight name under the optimizer prefix and files that are not checkpoints', async () => {
    expect(() =>
      encodeCheckpoint({ weights: new Map([['optimizer.x', tensor([1], 1)]]), config: {}, state: {} }),
    ).toThrow(/'optimizer.x' collides/);
    const dir = await mkdtemp(join(tmpdir(), 'ossify-ckpt-'));
    const { saveSafetensors } = await import('../src/io/safetensors.js');
    const path = join(dir, 'plain.safetensors');
    await saveSafetensors(path, { w: tensor([2], 1) });
    await expect(loadCheckpoint(path)).rejects.toThrow(/plain\.safetensors: not an ossify checkpoint/);
  });

  it('a leftover temp file from a crashed save never corrupts the previous checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ossify-ckpt-'));
    const path = join(dir, 'model.safetensors');
    const a = sample(1);
    await saveCheckpoint(path, a);
    // A crashed writer (dead pid) left half of the next checkpoint in its temp file.
    const next = encodeCheckpoint(sample(2));
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default range: never a live process
    const stale = join(dir, `.model.safetensors.${deadPid}.abc123.tmp`);
    await writeFile(stale, next.subarray(0, next.length >> 1));
    expectSame(await loadCheckpoint(path), a);
    // Saving again works beside the leftover, and the stale file can be cleaned up.
    const b = sample(3);
    await saveCheckpoint(path, b);
    expectSame(await loadCheckpoint(path), b);
    expect(await removeStaleTemps(path)).toEqual([stale]);
    expect(await readdir(dir)).toEqual(['model.safetensors']);
  });

  it('a writer killed with SIGKILL in the middle of saving leaves a complete checkpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ossify-ckpt-'));
    const path = join(dir, 'live.safetensors');
    // Bundle the real checkpoint code for a child process that saves in a loop.
    const bundle = join(dir, 'ckpt.mjs');
    await build({
      entryPoints: [resolve('src/io/checkpoint.ts')],
      bundle: true,
      format: 'esm',
      platform: 'node',
      outfile: bundle,
      logLevel: 'silent',
    });
    const script = `
      import { saveCheckpoint } from ${JSON.stringify(bundle)};
      const n = 1 << 20; // 4 MiB per tensor: each save takes a while
      for (let step = 1; ; step++) {
        const w = new Float32Array(n).fill(step);
        await saveCheckpoint(${JSON.stringify(path)}, {
          weights: new Map([['w', { shape: [n], data: w }]]),
          optimizer: new Map([['m.w', { shape: [n], data: w }]]),
          config: {},
          state: { step },
        });
        process.stdout.write('saved ' + step + '\\n');
      }`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let armed = false;
    await new Promise<void>((res, rej) => {
      child.on('error', rej);
      child.on('exit', (code) => rej(new Error(`writer exited early with ${code}`)));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // Kill part-way through a later save (3 ms after the 3rd completes).
        if (armed || !/saved 3\n/.test(out)) return;
        armed = true;
        setTimeout(() => {
          child.removeAllListeners('exit');
          child.kill('SIGKILL');
          res();
        }, 3);
      });
    });
    await new Promise((r) => child.once('exit', r).once('close', r));
    const ck = await loadCheckpoint(path);
    const step = (ck.state as { step: number }).step;
    expect(step).toBeGreaterThanOrEqual(3);
    const w = ck.weights.get('w')!.data;
    const m = ck.optimizer!.get('m.w')!.data;
    expect(w.length).toBe(1 << 20);
    expect(w.every((v) => v === step) && m.every((v) => v === step)).toBe(true);
    await removeStaleTemps(path);
    expect((await readdir(dir)).sort()).toEqual(['ckpt.mjs', 'live.safetensors']);
  });
});
