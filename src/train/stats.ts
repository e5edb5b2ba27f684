/**
 * Statistics for comparing classifiers on one test set, in float64: percentile bootstrap intervals
 * (test images resampled with replacement within each class, as pROC's `ci.auc` does, so every
 * resample keeps the class counts and has an AUC), a paired bootstrap of two classifiers' AUC
 * difference, McNemar's exact test, and mean / sample sd over seeds. Quantiles interpolate linearly
 * (numpy's default); resamples come from mulberry32 seeded by `seed`, so a report is reproducible.
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
 * Stratified bootstrap: `stat` of every item once (the estimates) and of each resample's item weights
 * (how many times each item was drawn, n_c draws with replacement among the n_c items of each class),
 * as percentile intervals, one per value `stat` returns.
 */
function bootstrap(labels: ArrayLike<number>, opts: BootstrapOptions, stat: (w: Float64Array) => number[]): Interval[] {
  const { resamples, level, seed } = { ...DEFAULTS, ...opts };
  const rng = makeRng(hashSeed(seed, labels.length));
  const members: [number[], number[]] = [[], []];
  for (let i = 0; i < labels.length; i++) members[labels[i] === 1 ? 1 : 0].push(i);
  const w = new Float64Array(labels.length).fill(1);
  const estimates = stat(w);
  const values = estimates.map((): number[] => []);
  for (let r = 0; r < resamples; r++) {
    w.fill(0);
    for (const m of members) for (let k = 0; k < m.length; k++) w[m[rng.int(m.length)]!] += 1;
    stat(w).forEach((v, k) => values[k]!.push(v));
  }
  const a = (1 - level) / 2;
  return estimates.map((estimate, k) => {
    const ok = values[k]!.filter(Number.isFinite).sort((x, y) => x - y);
    return { estimate, lo: quantile(ok, a), hi: quantile(ok, 1 - a), level, resamples: ok.length };
  });
}

/** Items ordered by score, ascending, and where each group of tied scores starts (then `order.length`). */
interface RankedScores {
  order: Int32Array;
  groups: Int32Array;
}

function rankScores(scores: ArrayLike<number>): RankedScores {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  const starts: number[] = [];
  for (let k = 0; k < order.length; k++) if (k === 0 || scores[order[k]!] !== scores[order[k - 1]!]) starts.push(k);
  starts.push(order.length);
  return { order, groups: Int32Array.from(starts) };
}

/** The share of (fractured, non-fractured) pairs of weighted items ordered right; NaN when a class weighs 0. */
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

/** ROC AUC (sklearn's `roc_auc_score`, ties count one half), each item counted `w[i]` times (default once). */
export function aucOf(scores: ArrayLike<number>, labels: ArrayLike<number>, w?: ArrayLike<number>): number {
  return weightedAuc(rankScores(scores), labels, w ?? new Float64Array(labels.length).fill(1));
}

/** Accuracy and fractured-class F1 (zero when no image is predicted or labelled fractured) of weighted items. */
function weightedCounts(pred: Uint8Array, labels: ArrayLike<number>, w: ArrayLike<number>): [number, number] {
  const cm = [0, 0, 0, 0]; // tn, fp, fn, tp
  for (let i = 0; i < pred.length; i++) cm[2 * (labels[i] === 1 ? 1 : 0) + pred[i]!] += w[i]!;
  const [tn, fp, fn, tp] = cm as [number, number, number, number];
  const total = tn + fp + fn + tp;
  return [total ? (tn + tp) / total : NaN, tp > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0];
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
 * probabilities `probs` against 0/1 `labels` (fractured when p > threshold, as `binaryMetrics`).
 */
export function bootstrapMetrics(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  opts: BootstrapOptions & { threshold?: number } = {},
): MetricIntervals {
  checkScores(probs, labels);
  const t = opts.threshold ?? 0.5;
  const pred = Uint8Array.from({ length: probs.length }, (_, i) => (probs[i]! > t ? 1 : 0));
  const ranked = rankScores(probs);
  const stat = (w: Float64Array): number[] => [...weightedCounts(pred, labels, w), weightedAuc(ranked, labels, w)];
  const [accuracy, f1, auc] = bootstrap(labels, opts, stat) as [Interval, Interval, Interval];
  return { accuracy, f1, auc };
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
  const [ra, rb] = [rankScores(probsA), rankScores(probsB)];
  return bootstrap(labels, opts, (w) => [weightedAuc(ra, labels, w) - weightedAuc(rb, labels, w)])[0]!;
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
