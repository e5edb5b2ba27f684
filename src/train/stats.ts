/**
 * Statistics for comparing classifiers on one test set, in float64:
 *
 * - Percentile bootstrap confidence intervals of accuracy, fractured-class F1 and ROC AUC. Test
 *   images are resampled with replacement within each class (stratified, as pROC's `ci.auc` does by
 *   default), so that every resample keeps the test split's class counts and has an AUC.
 * - A paired bootstrap of the difference of two classifiers' ROC AUC on the same images: the same
 *   resamples for both, so that what the images share cancels.
 * - McNemar's exact test: of the images that exactly one of two classifiers gets right, is either
 *   classifier right more often than chance allows (two-sided binomial test with p = 1/2)?
 * - Mean and sample standard deviation (n - 1) over seeds.
 *
 * Interval ends are quantiles by linear interpolation between order statistics (numpy's default,
 * Hyndman and Fan's type 7). Resamples come from mulberry32 seeded by `seed`, so a report is the
 * same every time it is made from the same predictions.
 * @module
 */
import { hashSeed, makeRng } from '../data/rng.js';

/** Arithmetic mean; NaN for no values. */
export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN;
}

/** Sample standard deviation (divisor n - 1); NaN for fewer than two values. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Quantile `q` (0..1) of ascending values by linear interpolation (numpy's default); NaN when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (!n) return NaN;
  const h = (n - 1) * q;
  const i = Math.floor(h);
  const j = Math.min(i + 1, n - 1);
  return sorted[i]! + (h - i) * (sorted[j]! - sorted[i]!);
}

/** How many resamples, at what confidence level, from which seed. */
export interface BootstrapOptions {
  /** Resamples (default 2000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
}

/** A point estimate with its bootstrap confidence interval. */
export interface Interval {
  estimate: number;
  lo: number;
  hi: number;
  level: number;
  /** Resamples whose statistic was defined (all of them, unless the test set lacks a class). */
  resamples: number;
}

const DEFAULTS = { resamples: 2000, level: 0.95, seed: 0 };

/**
 * Draw stratified resamples of `labels`: each call to the returned function fills `w` with how many
 * times each item was drawn, n_c draws with replacement among the n_c items of each class.
 */
export function stratifiedResampler(labels: ArrayLike<number>, seed: number): (w: Float64Array) => void {
  const rng = makeRng(hashSeed(seed, labels.length));
  const members: [number[], number[]] = [[], []];
  for (let i = 0; i < labels.length; i++) members[labels[i] === 1 ? 1 : 0].push(i);
  return (w) => {
    w.fill(0);
    for (const m of members) for (let k = 0; k < m.length; k++) w[m[rng.int(m.length)]!] += 1;
  };
}

/** The percentile interval of resampled values around `estimate`. */
function percentileInterval(values: number[], estimate: number, level: number): Interval {
  const ok = values.filter(Number.isFinite).sort((a, b) => a - b);
  const a = (1 - level) / 2;
  return { estimate, lo: quantile(ok, a), hi: quantile(ok, 1 - a), level, resamples: ok.length };
}

/**
 * The items ordered by score, ascending, cut into groups of tied scores: what a weighted
 * Mann-Whitney AUC walks through once per resample.
 */
interface RankedScores {
  order: Int32Array;
  /** Start of each tie group in `order`, and `order.length` at the end. */
  groups: Int32Array;
}

function rankScores(scores: ArrayLike<number>): RankedScores {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const starts: number[] = [];
  for (let k = 0; k < order.length; k++) if (k === 0 || scores[order[k]!] !== scores[order[k - 1]!]) starts.push(k);
  starts.push(order.length);
  return { order, groups: Int32Array.from(starts) };
}

/**
 * ROC AUC of items weighted by `w` (w = 1 everywhere: sklearn's `roc_auc_score`): the share of
 * (fractured, non-fractured) pairs ordered correctly by score, ties counting one half. NaN when a
 * class has no weight.
 */
function weightedAuc(ranked: RankedScores, labels: ArrayLike<number>, w: ArrayLike<number>): number {
  const { order, groups } = ranked;
  let below = 0; // weight of non-fractured items with lower scores
  let sum = 0;
  let pos = 0;
  for (let g = 0; g + 1 < groups.length; g++) {
    let p = 0;
    let n = 0;
    for (let k = groups[g]!; k < groups[g + 1]!; k++) {
      const i = order[k]!;
      if (labels[i] === 1) p += w[i]!;
      else n += w[i]!;
    }
    sum += p * (below + n / 2);
    below += n;
    pos += p;
  }
  return pos > 0 && below > 0 ? sum / (pos * below) : NaN;
}

/**
 * ROC AUC of scores against 0/1 labels, each item counted `w[i]` times (default once): sklearn's
 * `roc_auc_score`, ties counting one half.
 */
export function aucOf(scores: ArrayLike<number>, labels: ArrayLike<number>, w?: ArrayLike<number>): number {
  return weightedAuc(rankScores(scores), labels, w ?? new Float64Array(labels.length).fill(1));
}

/** Accuracy and fractured-class F1 (zero when no image is predicted or labelled fractured) of weighted items. */
function weightedCounts(
  pred: Uint8Array,
  labels: ArrayLike<number>,
  w: ArrayLike<number>,
): { accuracy: number; f1: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let total = 0;
  let right = 0;
  for (let i = 0; i < pred.length; i++) {
    const wi = w[i]!;
    total += wi;
    if (pred[i] === labels[i]) right += wi;
    if (pred[i] === 1 && labels[i] === 1) tp += wi;
    else if (pred[i] === 1) fp += wi;
    else if (labels[i] === 1) fn += wi;
  }
  return { accuracy: total ? right / total : NaN, f1: tp > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0 };
}

/** Bootstrap intervals of one classifier's test metrics. */
export interface MetricIntervals {
  accuracy: Interval;
  /** F1 of the fractured class. */
  f1: Interval;
  auc: Interval;
}

function checkScores(probs: ArrayLike<number>, labels: ArrayLike<number>, what = 'scores'): void {
  if (probs.length !== labels.length) throw new Error(`ossify: ${probs.length} ${what} but ${labels.length} labels`);
}

/**
 * 95 % (by default) bootstrap intervals of accuracy, fractured-class F1 and ROC AUC of fractured
 * probabilities `probs` against 0/1 `labels` (fractured when p > threshold, as {@link binaryMetrics}).
 */
export function bootstrapMetrics(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  opts: BootstrapOptions & { threshold?: number } = {},
): MetricIntervals {
  checkScores(probs, labels);
  const { resamples, level, seed } = { ...DEFAULTS, ...opts };
  const t = opts.threshold ?? 0.5;
  const pred = Uint8Array.from({ length: probs.length }, (_, i) => (probs[i]! > t ? 1 : 0));
  const ranked = rankScores(probs);
  const ones = new Float64Array(probs.length).fill(1);
  const point = weightedCounts(pred, labels, ones);
  const draw = stratifiedResampler(labels, seed);
  const w = new Float64Array(probs.length);
  const acc: number[] = [];
  const f1: number[] = [];
  const auc: number[] = [];
  for (let r = 0; r < resamples; r++) {
    draw(w);
    const c = weightedCounts(pred, labels, w);
    acc.push(c.accuracy);
    f1.push(c.f1);
    auc.push(weightedAuc(ranked, labels, w));
  }
  return {
    accuracy: percentileInterval(acc, point.accuracy, level),
    f1: percentileInterval(f1, point.f1, level),
    auc: percentileInterval(auc, weightedAuc(ranked, labels, ones), level),
  };
}

/**
 * Paired bootstrap interval of AUC(a) - AUC(b) for two classifiers' probabilities on the same
 * images (`labels`): each resample draws one set of images and scores both on it.
 */
export function pairedAucDifference(
  probsA: ArrayLike<number>,
  probsB: ArrayLike<number>,
  labels: ArrayLike<number>,
  opts: BootstrapOptions = {},
): Interval {
  checkScores(probsA, labels, 'scores of the first classifier');
  checkScores(probsB, labels, 'scores of the second classifier');
  const { resamples, level, seed } = { ...DEFAULTS, ...opts };
  const ra = rankScores(probsA);
  const rb = rankScores(probsB);
  const ones = new Float64Array(labels.length).fill(1);
  const draw = stratifiedResampler(labels, seed);
  const w = new Float64Array(labels.length);
  const d: number[] = [];
  for (let r = 0; r < resamples; r++) {
    draw(w);
    d.push(weightedAuc(ra, labels, w) - weightedAuc(rb, labels, w));
  }
  return percentileInterval(d, weightedAuc(ra, labels, ones) - weightedAuc(rb, labels, ones), level);
}

/** McNemar's test of two classifiers on the same images. */
export interface McNemarResult {
  /** Images the first classifier gets right and the second wrong. */
  b: number;
  /** Images the second gets right and the first wrong. */
  c: number;
  /** Images in all. */
  n: number;
  /** Two-sided exact p-value (1 when b = c). */
  p: number;
}

/**
 * Two-sided exact McNemar p-value for discordant counts b and c: twice the binomial(b + c, 1/2)
 * probability of a count at most min(b, c), capped at 1. Terms are built up from 2^-n while that is
 * a normal float64 (exact for small tables), in log space beyond, so any n works.
 */
export function mcnemarExactP(b: number, c: number): number {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0) {
    throw new Error(`ossify: McNemar counts must be integers >= 0, got ${b} and ${c}`);
  }
  const n = b + c;
  const m = Math.min(b, c);
  if (n === 0) return 1;
  let tail = 0;
  if (n <= 1000) {
    for (let k = 0, p = 2 ** -n; k <= m; k++) {
      tail += p;
      p = (p * (n - k)) / (k + 1);
    }
  } else {
    // log P(X = k) = log C(n, k) - n log 2; the largest term is k = m (m <= n / 2).
    const logs: number[] = [];
    for (let k = 0, lp = -n * Math.LN2; k <= m; k++) {
      logs.push(lp);
      lp += Math.log(n - k) - Math.log(k + 1);
    }
    const top = logs[m]!;
    tail = Math.exp(top) * logs.reduce((s, l) => s + Math.exp(l - top), 0);
  }
  return Math.min(1, 2 * tail);
}

/** McNemar's exact test from which images each classifier gets right (parallel arrays). */
export function mcnemar(rightA: ArrayLike<boolean>, rightB: ArrayLike<boolean>): McNemarResult {
  if (rightA.length !== rightB.length)
    throw new Error(`ossify: McNemar needs the same images: ${rightA.length} vs ${rightB.length}`);
  let b = 0;
  let c = 0;
  for (let i = 0; i < rightA.length; i++) {
    if (rightA[i] && !rightB[i]) b++;
    else if (!rightA[i] && rightB[i]) c++;
  }
  return { b, c, n: rightA.length, p: mcnemarExactP(b, c) };
}
