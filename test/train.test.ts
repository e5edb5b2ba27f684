/**
 * The trainer end to end on the bundled FracAtlas sample: a tiny InceptionV3 + BAM trains, writes its
 * run folder atomically, resumes after a real kill, and `ossify eval` reads its checkpoint.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { train } from '../src/train/trainer.js';
import { setup } from './helpers.js';

const sample = resolve(__dirname, '..', 'data', 'fracatlas-sample');

beforeAll(setup);

describe('trainer', () => {
  it('trains a small InceptionV3 + BAM on the bundled sample and writes its run folder', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ossify-run-'));
    const logs: string[] = [];
    const r = await train(
      {
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
        report: true,
      },
      { log: (s) => logs.push(s) },
    );
    expect(r.epochsRun).toBe(2);
    expect(r.history).toHaveLength(2);
    for (const h of r.history) {
      expect(Number.isFinite(h.train_loss)).toBe(true);
      expect(Number.isFinite(h.val_loss)).toBe(true);
    }
    for (const f of ['config.json', 'log.jsonl', 'last.safetensors', 'best.safetensors', 'metrics.json', 'report.md'])
      expect(existsSync(join(out, f)), f).toBe(true);
    const lines = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'auc', 'balanced_accuracy', 'confusion', 'weighted'])
      expect(m).toHaveProperty(k);
    // Rerunning a finished run resumes after its last epoch and trains nothing more.
    const again = await train(
      {
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
      },
      { log: () => {} },
    );
    expect(again.epochsRun).toBe(0);
    expect(again.resumedFrom).toBe(2);
  });
});

describe('checkpoint selection', () => {
  it('--monitor val_auc keeps the epoch of highest validation AUC', async () => {
    const out = mkdtempSync(join(tmpdir(), 'ossify-auc-'));
    const r = await train(
      {
        data: sample,
        out,
        model: 'densenet121',
        bam: false,
        imageSize: 32,
        width: 0.125,
        epochs: 3,
        batchSize: 6,
        maxBatches: 2,
        workers: 0,
        report: false,
        monitor: 'val_auc',
      },
      { log: () => {} },
    );
    const aucs = r.history.map((h) => h.val_auc);
    const bestIdx = aucs.indexOf(Math.max(...aucs));
    expect(r.best.epoch).toBe(bestIdx + 1);
    expect(r.best.monitor).toBe('val_auc');
    expect(r.final!.metrics.auc).toBeCloseTo(aucs[bestIdx], 5);
  });
});

describe('resume', () => {
  it('reads a checkpoint that calls the best score bestValLoss (written before the rename to bestScore)', async () => {
    const { loadCheckpoint, saveCheckpoint } = await import('../src/io/checkpoint.js');
    const out = mkdtempSync(join(tmpdir(), 'ossify-old-state-'));
    const opts = {
      data: sample,
      out,
      model: 'densenet121' as const,
      bam: false,
      imageSize: 32,
      width: 0.125,
      epochs: 1,
      batchSize: 6,
      maxBatches: 1,
      workers: 0,
      report: false,
    };
    await train(opts, { log: () => {} });
    const last = join(out, 'last.safetensors');
    const ck = await loadCheckpoint(last);
    const { bestScore, ...rest } = ck.state as { bestScore: number };
    await saveCheckpoint(last, { ...ck, state: { ...rest, bestValLoss: bestScore } });
    const lines: string[] = [];
    const r = await train({ ...opts, epochs: 2 }, { log: (l) => lines.push(l) });
    expect(lines.join('\n')).toContain(`(best val_loss ${bestScore.toFixed(4)} at epoch 1)`);
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect((await loadCheckpoint(last)).state).toHaveProperty('bestScore');
  });
});

describe('initial weights (transfer learning)', () => {
  it('loads a checkpoint of another head size by name, skipping the classifier with a reason', async () => {
    const { inceptionV3 } = await import('../src/models/index.js');
    const { saveSafetensors } = await import('../src/io/safetensors.js');
    const { loadPretrained } = await import('../src/train/pretrained.js');
    const src = inceptionV3({ numClasses: 5, inputSize: 75, widthMultiplier: 0.125, seed: 3 });
    const sd = await src.stateDict();
    const file = join(mkdtempSync(join(tmpdir(), 'ossify-init-')), 'pre.safetensors');
    await saveSafetensors(file, new Map(Object.entries(sd)));
    const dst = inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.125, bam: true, seed: 4 });
    const logs: string[] = [];
    const r = await loadPretrained(dst, file, (s) => logs.push(s));
    expect(r.skipped.map((s) => s.name).sort()).toEqual(['dense.bias', 'dense.kernel']);
    expect(r.missing.every((n) => n.startsWith('bam_') || n.startsWith('dense.'))).toBe(true);
    const after = await dst.stateDict();
    expect(after['conv2d.kernel'].data).toEqual(sd['conv2d.kernel'].data);
    expect(after['batch_normalization_5.moving_variance'].data).toEqual(
      sd['batch_normalization_5.moving_variance'].data,
    );
    expect(logs[0]).toMatch(/tensors loaded, 2 skipped/);
    src.dispose();
    dst.dispose();
  });
});

describe('initial weights of another model', () => {
  it('are refused when they fill under half of the model, and load with allowPartial', async () => {
    const { inceptionV3 } = await import('../src/models/index.js');
    const { saveSafetensors } = await import('../src/io/safetensors.js');
    const { loadPretrained } = await import('../src/train/pretrained.js');
    const dst = inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.125, bam: true, seed: 4 });
    const kernel = (await dst.stateDict())['conv2d.kernel'];
    const one = Float32Array.from(kernel.data, (_, i) => i);
    // One tensor of this model by name and shape, the rest under names no layer has.
    const file = join(mkdtempSync(join(tmpdir(), 'ossify-partial-')), 'other.safetensors');
    const other = { 'block1_conv1.kernel': { shape: [3, 3, 3, 64], data: new Float32Array(1728) } };
    await saveSafetensors(file, { 'conv2d.kernel': { shape: kernel.shape, data: one }, ...other });
    const logs: string[] = [];
    await expect(loadPretrained(dst, file, (s) => logs.push(s))).rejects.toThrow(/match 1 of the model's \d+ tensors/);
    expect((await dst.stateDict())['conv2d.kernel'].data).toEqual(kernel.data);
    const r = await loadPretrained(dst, file, (s) => logs.push(s), { allowPartial: true });
    expect(r.loaded).toEqual(['conv2d.kernel']);
    expect((await dst.stateDict())['conv2d.kernel'].data).toEqual(one);
    dst.dispose();
  });
});

describe('resuming with other options', () => {
  it('names each option that shapes training and changed, by its flag, and lets the run length change', async () => {
    const { optionChanges } = await import('../src/train/run-folder.js');
    const run = { lr: 0.001, batchSize: 4, epochs: 3, workers: 0, plateau: { patience: 3 }, monitor: 'val_loss' };
    expect(optionChanges(run, { ...run, epochs: 10, workers: 2 })).toEqual([]);
    expect(optionChanges(run, { ...run, lr: 0.01, batchSize: 8, plateau: { patience: 10 } })).toEqual([
      '--lr 0.001 in the run, 0.01 now',
      '--batch-size 4 in the run, 8 now',
      '--patience 3 in the run, 10 now',
    ]);
    // Options a run recorded by an older version lacks are not compared.
    expect(optionChanges({ lr: 0.001 }, { lr: 0.001, dropout: 0.2 })).toEqual([]);
  });
});

describe('Grad-CAM', () => {
  it('explains a map of at least 7x7 at 75 px, scaled to [0, 1], and leaves no weight gradients behind', async () => {
    const { inceptionV3 } = await import('../src/models/index.js');
    const { gradCam } = await import('../src/train/steps.js');
    const { Tensor } = await import('../src/tensor.js');
    const m = inceptionV3({ numClasses: 2, inputSize: 75, widthMultiplier: 0.125, seed: 1 });
    const x = Tensor.from(
      Float32Array.from({ length: 75 * 75 * 3 }, (_, i) => Math.sin(i)),
      [1, 75, 75, 3],
    );
    const cam = await gradCam(m, x);
    expect(cam.h).toBeGreaterThanOrEqual(7);
    expect(cam.maps.length).toBe(cam.h * cam.w);
    const max = Math.max(...cam.maps);
    expect(Math.min(...cam.maps)).toBeGreaterThanOrEqual(0);
    expect(max === 0 || Math.abs(max - 1) < 1e-6).toBe(true);
    expect(cam.logits.length).toBe(2);
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
    x.dispose();
    m.dispose();
  });
});
