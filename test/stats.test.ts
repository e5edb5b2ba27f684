/**
 * The sweep report's statistics against float64 references: McNemar's exact test on a textbook
 * table (and p-values computed with exact rational arithmetic), the stratified bootstrap of accuracy
 * against its closed-form distribution (a sum of two binomials), AUC with ties against sklearn's
 * definition, and the paired bootstrap's symmetries.
 */
import { describe, expect, it } from 'vitest';
import {
  binaryMetrics,
  bootstrapMetrics,
  mcnemar,
  mcnemarExactP,
  mean,
  pairedAucDifference,
  quantile,
  rocAuc,
  sampleSd,
} from '../src/train/metrics.js';
import { rng } from './helpers.js';

/** Arrays saying which images each classifier got right, from the four cells of a 2x2 table. */
function table(bothRight: number, onlyA: number, onlyB: number, bothWrong: number): [boolean[], boolean[]] {
  const a: boolean[] = [];
  const b: boolean[] = [];
  const push = (n: number, x: boolean, y: boolean): void => {
    for (let i = 0; i < n; i++) {
      a.push(x);
      b.push(y);
    }
  };
  push(bothRight, true, true);
  push(onlyA, true, false);
  push(onlyB, false, true);
  push(bothWrong, false, false);
  return [a, b];
}

describe('McNemar exact test', () => {
  it("Agresti's presidential approval table (794, 150, 86, 570)", () => {
    // Agresti, An Introduction to Categorical Data Analysis (2nd ed.), Table 8.1: approval of the
    // president in two surveys of the same 1,600 people. Discordant pairs 150 and 86 (z^2 = 17.36).
    // Exact two-sided p = 2 * sum_{k<=86} C(236, k) / 2^236 = 3.715936139571442e-05 (Python fractions;
    // scipy.stats.binomtest(86, 236).pvalue agrees).
    const [a, b] = table(794, 150, 86, 570);
    const r = mcnemar(a, b);
    expect([r.b, r.c, r.n]).toEqual([150, 86, 1600]);
    expect(r.p).toBeCloseTo(3.715936139571442e-5, 17);
    expect(Math.abs(r.p / 3.715936139571442e-5 - 1)).toBeLessThan(1e-12);
  });

  it('small tables by hand, symmetry, and n beyond float64 powers of two', () => {
    // b = 1, c = 5: 2 * (C(6,0) + C(6,1)) / 2^6 = 14 / 64.
    expect(mcnemarExactP(1, 5)).toBe(0.21875);
    expect(mcnemarExactP(5, 1)).toBe(0.21875);
    expect(mcnemarExactP(0, 7)).toBe(2 / 128);
    expect(mcnemarExactP(3, 0)).toBe(0.25);
    expect(mcnemarExactP(10, 10)).toBe(1);
    expect(mcnemarExactP(0, 0)).toBe(1);
    // Exact rationals (Python): 2^-1700 underflows a direct product, the log-space sum does not.
    expect(Math.abs(mcnemarExactP(500, 440) / 0.05425069750653684 - 1)).toBeLessThan(1e-11);
    expect(Math.abs(mcnemarExactP(900, 800) / 0.01632068249444858 - 1)).toBeLessThan(1e-11);
    expect(() => mcnemarExactP(-1, 2)).toThrow(/integers >= 0/);
  });
});

describe('bootstrap', () => {
  it('accuracy: the stratified bootstrap interval matches the closed-form distribution (two binomials)', () => {
    // 60 non-fractured images of which 45 are right, 40 fractured of which 28 are right. Resampling
    // within each class makes the number right Binomial(60, 0.75) + Binomial(40, 0.7): its exact
    // 2.5 % and 97.5 % quantiles, divided by 100, are where the percentile interval must end (within
    // one image, the step of a discrete distribution).
    const labels = [...Array<number>(60).fill(0), ...Array<number>(40).fill(1)];
    const probs = labels.map((l, i) => (l === 0 ? (i < 45 ? 0.2 : 0.8) : i - 60 < 28 ? 0.9 : 0.1));
    const pmf = (n: number, p: number): number[] => {
      const out = [(1 - p) ** n];
      for (let k = 0; k < n; k++) out.push((out[k]! * (n - k) * p) / ((k + 1) * (1 - p)));
      return out;
    };
    const a = pmf(60, 0.75);
    const b = pmf(40, 0.7);
    const total = new Float64Array(101);
    a.forEach((pa, i) => b.forEach((pb, j) => (total[i + j] += pa * pb)));
    const exactQuantile = (q: number): number => {
      let cdf = 0;
      for (let k = 0; k <= 100; k++) if ((cdf += total[k]!) >= q) return k / 100;
      return 1;
    };
    const mu = total.reduce((s, p, k) => s + p * k, 0) / 100;
    expect(mu).toBeCloseTo(0.73, 12);
    const ci = bootstrapMetrics(probs, labels, { resamples: 20000, seed: 7 });
    expect(ci.accuracy.estimate).toBe(0.73);
    expect(ci.accuracy.resamples).toBe(20000);
    expect(Math.abs(ci.accuracy.lo - exactQuantile(0.025))).toBeLessThanOrEqual(0.01 + 1e-12);
    expect(Math.abs(ci.accuracy.hi - exactQuantile(0.975))).toBeLessThanOrEqual(0.01 + 1e-12);
    // The closed form's interval is about +-1.96 sd wide: sd^2 = (60*.75*.25 + 40*.7*.3) / 100^2.
    const sd = Math.sqrt(60 * 0.75 * 0.25 + 40 * 0.7 * 0.3) / 100;
    expect(ci.accuracy.hi - ci.accuracy.lo).toBeGreaterThan(2 * 1.96 * sd - 0.02);
    expect(ci.accuracy.hi - ci.accuracy.lo).toBeLessThan(2 * 1.96 * sd + 0.02);
    // The point estimates are the metrics' own.
    const m = binaryMetrics(probs, labels);
    expect(ci.f1.estimate).toBeCloseTo(m.f1, 14);
    expect(ci.auc.estimate).toBeCloseTo(m.auc, 14);
    // Seeded: the same call gives the same interval, another seed another one.
    expect(bootstrapMetrics(probs, labels, { resamples: 2000, seed: 3 })).toEqual(
      bootstrapMetrics(probs, labels, { resamples: 2000, seed: 3 }),
    );
    expect(bootstrapMetrics(probs, labels, { seed: 4 })).not.toEqual(bootstrapMetrics(probs, labels, { seed: 5 }));
  });

  it('a perfect classifier keeps accuracy, F1 and AUC at 1 in every resample', () => {
    const labels = [0, 0, 0, 1, 1];
    const ci = bootstrapMetrics([0.1, 0.2, 0.3, 0.7, 0.9], labels);
    for (const k of ['accuracy', 'f1', 'auc'] as const) expect([ci[k].lo, ci[k].estimate, ci[k].hi]).toEqual([1, 1, 1]);
  });

  it('paired AUC difference: zero for one ranking, antisymmetric, and about the difference of the AUCs', () => {
    const r = rng(11);
    const labels = Array.from({ length: 200 }, (_, i) => (i % 5 === 0 ? 1 : 0));
    const a = labels.map((l) => Math.round((0.3 * l + 0.7 * r()) * 20) / 20); // ties on a 0.05 grid
    const b = labels.map((l) => 0.15 * l + 0.85 * r());
    // The same ranking (a monotone transform) has the same AUC in every resample.
    const same = pairedAucDifference(
      a,
      a.map((x) => x * x + 1),
      labels,
      { seed: 2 },
    );
    expect([same.lo, same.estimate, same.hi]).toEqual([0, 0, 0]);
    const ab = pairedAucDifference(a, b, labels, { seed: 2 });
    const ba = pairedAucDifference(b, a, labels, { seed: 2 });
    expect(ab.estimate).toBeCloseTo(rocAuc(a, labels) - rocAuc(b, labels), 14);
    expect(ba.lo).toBeCloseTo(-ab.hi, 14);
    expect(ba.hi).toBeCloseTo(-ab.lo, 14);
    expect(ab.lo).toBeLessThan(ab.estimate);
    expect(ab.hi).toBeGreaterThan(ab.estimate);
  });
});

describe('AUC with ties and weights', () => {
  it("equals sklearn's roc_auc_score (ties count one half), and weights equal repeated images", () => {
    // Two positives and two negatives tied at 0.5: sklearn gives 0.875 (metrics.test.ts).
    expect(rocAuc([0.5, 0.5, 0.2, 0.9], [0, 1, 0, 1])).toBe(0.875);
    expect(rocAuc([0.3, 0.3, 0.3, 0.3], [0, 1, 0, 1])).toBe(0.5);
    const r = rng(5);
    const labels = Array.from({ length: 57 }, () => (r() < 0.3 ? 1 : 0));
    const scores = labels.map((l) => Math.round((0.2 * l + r()) * 8) / 8); // many ties
    // Against the definition: the share of (positive, negative) pairs ranked right, ties counting one half.
    const [pos, neg] = [1, 0].map((c) => scores.filter((_, i) => labels[i] === c));
    const pairs = pos.flatMap((p) => neg.map((n) => (p > n ? 1 : p === n ? 0.5 : 0)));
    expect(rocAuc(scores, labels)).toBeCloseTo(mean(pairs), 14);
    // Integer weights are the same as repeating each image that many times.
    const w = labels.map(() => Math.floor(r() * 4));
    const rep = (xs: number[]): number[] => xs.flatMap((x, i) => Array<number>(w[i]!).fill(x));
    expect(rocAuc(scores, labels, w)).toBeCloseTo(rocAuc(rep(scores), rep(labels)), 14);
    expect(rocAuc([0.1, 0.2], [1, 1])).toBeNaN();
  });
});

describe('summaries', () => {
  it('mean, sample standard deviation and quantiles as numpy computes them', () => {
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    expect(sampleSd([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(2.138089935299395, 14); // np.std(ddof=1)
    expect(sampleSd([0.8])).toBeNaN();
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75); // np.percentile(..., 25)
    const sorted = [3, 1, 4, 1, 5, 9, 2, 6].sort((x, y) => x - y);
    expect(quantile(sorted, 0.025)).toBeCloseTo(1, 14);
    expect(quantile(sorted, 0.975)).toBeCloseTo(8.475, 14);
  });
});
