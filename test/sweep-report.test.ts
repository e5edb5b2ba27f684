/**
 * The sweep report rendered from a fixture of run folders (no GPU): the study's table with its
 * reference figures, per-run metrics and bootstrap intervals equal to the statistics' own, McNemar
 * counts by hand, the sentences, skipped and pending runs, the chart, and shards that merge into the
 * same report as one folder.
 */
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkGrid, planSweep, type GridSpec } from '../src/train/grid.js';
import { writeSweepReport, type SweepReport } from '../src/train/sweep-report.js';
import type { RunResult, SweepFile, TestSet } from '../src/train/sweep.js';
import { binaryMetrics, bootstrapMetrics, mean, pairedAucDifference, sampleSd } from '../src/train/metrics.js';

const GRID: GridSpec = {
  name: 'fixture',
  fixed: { imageSize: 75, width: 0.25, epochs: 3 },
  axes: { seed: [0, 1] },
  blocks: [
    { fixed: { model: 'inceptionv3', init: 'scratch' }, axes: { bam: [true, false] } },
    { fixed: { model: 'densenet121', bam: false, init: 'scratch' } },
    { fixed: { model: 'efficientnetb1', bam: false, init: 'imagenet' } },
  ],
};

// 40 test images, the first 10 fractured.
const N = 40;
const labels = Array.from({ length: N }, (_, i) => (i < 10 ? 1 : 0));
const ids = labels.map((_, i) => `IMG${String(i).padStart(7, '0')}`);
const test: TestSet = {
  kind: 'external',
  source: 'every image of /data/test',
  n: N,
  positives: 10,
  key: 'fixture-key',
};

/** Probabilities that get exactly the images in `wrong` wrong, ranked by `order` within each side. */
function predictions(wrong: number[], spread: (i: number) => number): number[] {
  return labels.map((l, i) => {
    const right = !wrong.includes(i);
    const p = 0.5 + 0.4 * spread(i);
    return (l === 1) === right ? p : 1 - p;
  });
}
// BAM, seed 0: wrong on 2 images; no BAM, seed 0: wrong on one of those and 9 more.
const bam0 = predictions([3, 20], (i) => ((i * 7) % 11) / 11 + 0.05);
const nobam0 = predictions([0, 1, 2, 21, 22, 23, 24, 25, 20, 26], (i) => ((i * 5) % 13) / 13 + 0.02);
// Seed 1: the two InceptionV3 rows give the same probabilities (not distinguishable by construction).
const bam1 = predictions([4, 30, 31], (i) => ((i * 3) % 17) / 17 + 0.03);
const dense0 = predictions([5, 6, 7, 8, 33], (i) => ((i * 9) % 19) / 19 + 0.01);
const PROBS: Record<string, number[]> = {
  'inceptionv3-bam-scratch-s0': bam0,
  'inceptionv3-nobam-scratch-s0': nobam0,
  'densenet121-nobam-scratch-s0': dense0,
  'inceptionv3-bam-scratch-s1': bam1,
  'inceptionv3-nobam-scratch-s1': bam1,
  // densenet121-nobam-scratch-s1: pending; efficientnetb1: skipped (ImageNet weights at width 0.25).
};

/** A sweep folder holding the grid's plan and the given finished runs. */
function fixture(runs: string[]): string {
  const out = mkdtempSync(join(tmpdir(), 'ossify-sweep-fixture-'));
  const plan = planSweep(checkGrid(GRID, 'fixture.json'));
  writeFileSync(join(out, 'sweep.json'), JSON.stringify({ plan, data: '/data/fracatlas' } satisfies SweepFile));
  for (const name of runs) {
    const run = plan.runs.find((r) => r.name === name)!;
    const dir = join(out, 'runs', name);
    mkdirSync(dir, { recursive: true });
    const probs = PROBS[name]!;
    const csv = ['image_id,label,probability', ...ids.map((id, i) => `${id},${labels[i]},${probs[i]}`)].join('\n');
    writeFileSync(join(dir, 'predictions.csv'), csv + '\n');
    const result: RunResult = {
      name,
      row: run.row,
      label: run.label,
      options: run.options,
      test,
      epochs: { run: 3, planned: 3, best: 2, cut: null },
      timing: { train_s: 100 + run.index, eval_s: 5, images_per_s: 12.5, peak_gpu_bytes: 64 * 2 ** 20 },
      adapter: 'lavapipe (llvmpipe)',
    };
    writeFileSync(join(dir, 'result.json'), JSON.stringify(result));
  }
  return out;
}

const FINISHED = Object.keys(PROBS);
const readReport = (dir: string): SweepReport => JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));

describe('sweep report from run folders', () => {
  it("renders the study's table, intervals, comparisons, skipped and pending runs", async () => {
    const dir = fixture(FINISHED);
    const files = await writeSweepReport([dir], dir);
    const r = readReport(dir);
    const md = readFileSync(files.markdown, 'utf8');

    // Rows in grid order, mean and sample sd over seeds of the metrics' own values.
    expect(r.rows.map((x) => [x.label, x.seeds])).toEqual([
      ['InceptionV3 + 3 BAM, scratch', [0, 1]],
      ['InceptionV3, scratch', [0, 1]],
      ['DenseNet121, scratch', [0]],
    ]);
    const mb0 = binaryMetrics(bam0, labels);
    const mb1 = binaryMetrics(bam1, labels);
    expect(mb0.accuracy).toBe(38 / 40);
    expect(mb1.accuracy).toBe(37 / 40);
    expect(r.rows[0]!.mean.accuracy).toBeCloseTo(mean([0.95, 0.925]), 14);
    expect(r.rows[0]!.sd.accuracy).toBeCloseTo(sampleSd([0.95, 0.925]), 14);
    expect(r.rows[0]!.mean.weighted_f1).toBeCloseTo((mb0.weighted.f1 + mb1.weighted.f1) / 2, 14);
    expect(r.rows[2]!.sd.accuracy).toBeNull(); // one seed: NaN, written as null
    expect(md).toContain('| reference study: InceptionV3 + 3 BAM | 1 | 90.48 | 90.57 | not quoted | not quoted |');
    const wp = (v: number): string => (100 * v).toFixed(2);
    const row0 = r.rows[0]!;
    const cell = (k: 'weighted_precision' | 'weighted_recall' | 'weighted_f1'): string =>
      `${wp(row0.mean[k])} ± ${wp(row0.sd[k])}`;
    const cells = [cell('weighted_precision'), cell('weighted_recall'), cell('weighted_f1')];
    expect(md).toContain(`| InceptionV3 + 3 BAM, scratch | 2 | 93.75 ± 1.77 | ${cells.join(' | ')} |`);
    expect(md).toContain('| DenseNet121, scratch | 1 | 87.50 |');
    expect(md).toContain('arXiv:2410.14833');

    // Per run: the metrics and the bootstrap intervals of the statistics module (2000 resamples, seed 0).
    const run0 = r.runs.find((x) => x.name === 'inceptionv3-bam-scratch-s0')!;
    const ci = bootstrapMetrics(bam0, labels, { resamples: 2000, seed: 0 });
    expect(run0.ci.accuracy).toEqual([ci.accuracy.lo, ci.accuracy.hi]);
    expect(run0.ci.f1).toEqual([ci.f1.lo, ci.f1.hi]);
    expect(run0.ci.auc).toEqual([ci.auc.lo, ci.auc.hi]);
    expect(run0.confusion).toEqual([
      [29, 1],
      [1, 9],
    ]);
    expect(run0.majority_baseline_accuracy).toBe(0.75);
    expect(run0.timing).toEqual({ wall_s: 105, train_s: 100, eval_s: 5, images_per_s: 12.5, peak_gpu_mib: 64 });
    expect(md).toContain(
      `| inceptionv3-bam-scratch-s0 | 0 | 3 (best 2) | 95.00 [${wp(ci.accuracy.lo)}, ${wp(ci.accuracy.hi)}] |`,
    );

    // BAM vs no BAM, seed 0: BAM alone right on 9 images, no BAM alone on 1 (image 20 is wrong for
    // both, image 3 only for BAM): McNemar exact p = 2 * (C(10, 0) + C(10, 1)) / 2^10.
    const bamVs = r.comparisons.filter((c) => c.kind === 'bam');
    expect(bamVs.map((c) => [c.a, c.b])).toEqual([
      ['inceptionv3-bam-scratch-s0', 'inceptionv3-nobam-scratch-s0'],
      ['inceptionv3-bam-scratch-s1', 'inceptionv3-nobam-scratch-s1'],
    ]);
    expect(bamVs[0]!.mcnemar).toEqual({ b: 9, c: 1, n: 40, p: 22 / 1024 });
    const diff = pairedAucDifference(bam0, nobam0, labels, { resamples: 2000, seed: 0 });
    expect(bamVs[0]!.auc_difference).toEqual({ estimate: diff.estimate, lo: diff.lo, hi: diff.hi });
    expect(bamVs[0]!.distinguishable).toBe(true);
    expect(bamVs[0]!.sentence).toMatch(
      /InceptionV3 \+ 3 BAM, scratch is right more often \(McNemar's exact p = 0\.021, 9 vs 1 images/,
    );
    // Seed 1: the same predictions: the interval is [0, 0] and p = 1.
    expect(bamVs[1]!.mcnemar).toEqual({ b: 0, c: 0, n: 40, p: 1 });
    expect(bamVs[1]!.auc_difference).toEqual({ estimate: 0, lo: 0, hi: 0 });
    expect(bamVs[1]!.sentence).toBe(
      'InceptionV3 + 3 BAM, scratch vs InceptionV3, scratch (seed 1): not distinguishable on 40 images ' +
        "(accuracy 92.50 % vs 92.50 %, McNemar's exact p = 1.0, 0 vs 0 images right by one of them only; " +
        'AUC difference 0.000, 95 % CI 0.000 to 0.000, which spans 0).',
    );
    expect(r.comparison_summaries).toEqual([
      'BAM vs no BAM: InceptionV3 + 3 BAM, scratch vs InceptionV3, scratch: distinguishable in 1 of 2 seeds.',
    ]);
    // The best row (by mean accuracy) against the others on the same seed, less pairs already compared.
    expect(r.comparisons.filter((c) => c.kind === 'best').map((c) => [c.a, c.b])).toEqual([
      ['inceptionv3-bam-scratch-s0', 'densenet121-nobam-scratch-s0'],
    ]);
    expect(md).toContain(
      '| BAM vs no BAM | 1 | InceptionV3 + 3 BAM, scratch | InceptionV3, scratch | 92.50 / 92.50 | 0 / 0, 1.0 ' +
        '| 0.000 [0.000, 0.000] | not distinguishable |',
    );

    // Not run: the pending run, and a row that cannot run here (ImageNet weights at width 0.25) with its runs and why.
    expect(r.pending).toEqual([{ name: 'densenet121-nobam-scratch-s1', label: 'DenseNet121, scratch' }]);
    expect(r.skipped).toEqual([
      {
        row: 'efficientnetb1-nobam-imagenet',
        label: 'EfficientNetB1, ImageNet',
        runs: ['efficientnetb1-nobam-imagenet-s0', 'efficientnetb1-nobam-imagenet-s1'],
        reason: 'ImageNet weights fit the full-width backbone only (this run: width 0.25)',
      },
    ]);
    expect(md).toContain(
      '- EfficientNetB1, ImageNet (efficientnetb1-nobam-imagenet-s0, efficientnetb1-nobam-imagenet-s1): skipped: ' +
        'ImageNet weights fit the full-width backbone only (this run: width 0.25).',
    );
    expect(md).toContain('| runs | 5 done of 8; 1 pending, 2 skipped |');

    // The chart: an accuracy and an AUC dot per run at its value, and the majority baseline.
    const svg = readFileSync(files.svg, 'utf8');
    const dots = [...svg.matchAll(/<circle data-row="(\d+)" data-series="([^"]+)" data-value="([^"]+)"/g)];
    expect(dots).toHaveLength(2 * 5);
    expect(Number(dots[0]![3])).toBe(0.95);
    expect(dots[1]![2]).toBe('ROC AUC');
    expect(Number(dots[1]![3])).toBe(mb0.auc);
    expect(svg).toContain('data-mark="majority baseline accuracy"');
  });

  it('shards of one grid merge into the report of one folder; another grid is refused', async () => {
    const whole = fixture(FINISHED);
    await writeSweepReport([whole], whole);
    const a = fixture(FINISHED.filter((_, i) => i % 2 === 0));
    const b = fixture(FINISHED.filter((_, i) => i % 2 === 1));
    const merged = mkdtempSync(join(tmpdir(), 'ossify-sweep-merged-'));
    await writeSweepReport([a, b], merged);
    const strip = (r: SweepReport) => ({ ...r, data: [] });
    expect(strip(readReport(merged))).toEqual(strip(readReport(whole)));
    expect(readFileSync(join(merged, 'report.md'), 'utf8')).toBe(readFileSync(join(whole, 'report.md'), 'utf8'));

    const other = fixture([]);
    const plan = planSweep(checkGrid({ ...GRID, fixed: { ...GRID.fixed, epochs: 4 } }, 'other.json'));
    writeFileSync(join(other, 'sweep.json'), JSON.stringify({ plan, data: '/data/fracatlas' }));
    await expect(writeSweepReport([whole, other], merged)).rejects.toThrow(
      `${other} holds a sweep of another grid or options than ${whole}`,
    );
    await expect(writeSweepReport([join(whole, 'runs')], merged)).rejects.toThrow(
      /is not a sweep folder \(no sweep\.json\)/,
    );
  });

  it('a damaged predictions file is named with the fix', async () => {
    const dir = fixture(['inceptionv3-bam-scratch-s0']);
    const f = join(dir, 'runs', 'inceptionv3-bam-scratch-s0', 'predictions.csv');
    writeFileSync(f, readFileSync(f, 'utf8').split('\n').slice(0, 20).join('\n'));
    await expect(writeSweepReport([dir], dir)).rejects.toThrow(
      `${f} does not hold 40 rows of image_id,label (0/1),probability; delete it`,
    );
  });
});
