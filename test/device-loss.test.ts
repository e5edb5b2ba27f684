// @adapters all
/**
 * A GPU device lost in the middle of a run (simulated with `device.destroy()`): the trainer stops
 * with one clear error, the last checkpoint stays intact, the library's next call says the device
 * was lost, and after `shutdown()` and `init()` rerunning the same training resumes after the last
 * completed epoch.
 */
import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { init, runtime, shutdown, Tensor } from '../src/index.js';
import { loadCheckpoint } from '../src/io/checkpoint.js';
import { train, type TrainOptions } from '../src/train/trainer.js';

const sample = resolve(__dirname, '..', 'data', 'fracatlas-sample');
// The configuration of train.test.ts (its kernels are compiled already on a warm machine).
const options = (out: string): Partial<TrainOptions> & Pick<TrainOptions, 'data' | 'out'> => ({
  data: sample,
  out,
  model: 'inceptionv3',
  bam: true,
  imageSize: 75,
  width: 0.125,
  epochs: 2,
  batchSize: 4,
  maxBatches: 2,
  workers: 0,
  report: false,
});
const logLines = (out: string): string[] => readFileSync(join(out, 'log.jsonl'), 'utf8').split('\n').filter(Boolean);

describe('device loss', () => {
  it('stops training with a clear error, keeps the last checkpoint, and a rerun resumes', async () => {
    await init({ verbose: false });
    const out = mkdtempSync(join(tmpdir(), 'ossify-lost-'));
    const logs: string[] = [];
    let destroyed = false;
    const failure = await train(options(out), {
      log: (s) => logs.push(s),
      progress: (p) => {
        // Lose the device after the first step of the second epoch.
        if (p.epoch === 2 && !destroyed) {
          destroyed = true;
          runtime().device.destroy();
        }
      },
    }).then(
      () => null,
      (e: Error) => e,
    );
    expect(destroyed).toBe(true);
    expect(failure?.message).toMatch(/^ossify: the GPU device was lost \(destroyed\): .*shutdown\(\) and init\(\)/s);
    expect(runtime().lost?.reason).toBe('destroyed');
    // The library's next call says so instead of failing obscurely.
    // (Allocation says it as the runtime does, not as a problem of the tensor's shape: a cold machine lost
    // the device while allocating a batch rather than while reading one back.)
    expect(() => Tensor.from([1, 2], [2])).toThrow(/^ossify: the GPU device was lost \(destroyed\)/);
    // Waiting for the GPU says it too (it resolved as if the work were done).
    await expect(runtime().sync()).rejects.toThrow(/^ossify: the GPU device was lost \(destroyed\)/);

    // The checkpoint of epoch 1 is intact and the log has its one line.
    const ck = await loadCheckpoint(join(out, 'last.safetensors'));
    expect((ck.state as { epoch: number }).epoch).toBe(0);
    expect(logLines(out).map((l) => JSON.parse(l).epoch)).toEqual([1]);

    // A fresh device: the same call resumes after epoch 1 and finishes the run.
    shutdown();
    await init({ verbose: false });
    const r = await train(options(out), { log: () => {} });
    expect(r.resumedFrom).toBe(1);
    expect(r.epochsRun).toBe(1);
    expect(logLines(out).map((l) => JSON.parse(l).epoch)).toEqual([1, 2]);
    expect(Number.isFinite(r.history[1].val_loss)).toBe(true);
    shutdown();
  });
});
