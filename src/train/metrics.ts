/**
 * Binary classification metrics as scikit-learn defines them, and statistics comparing classifiers on
 * one test set, in float64. Class 1 (fractured) is positive when `p > t` (strictly; t = 0.5 is the argmax
 * of a 2-way softmax); precision/recall/F1 with `zero_division=0`; ROC AUC with ties counting one half
 * (NaN when a class is absent); `roc_curve` with `drop_intermediate=True`. Bootstrap intervals resample
 * the test images within each class (as pROC's `ci.auc`: every resample has an AUC), quantiles
 * interpolate linearly (numpy's default), and the resamples are seeded (mulberry32), so a report is
 * reproducible.
 * @module
 */
import { hashSeed, makeRng } from '../data/rng.js';

/** Confusion matrix [[tn, fp], [fn, tp]] (rows: true class 0/1, columns: predicted 0/1), as sklearn. */
export type ConfusionMatrix = [[number, number], [number, number]];

/** Precision, recall, F1 and support of one class. */
export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** All metrics of a set of predictions. */
export interface BinaryMetrics {
  n: number;
  positives: number;
  negatives: number;
  threshold: number;
  accuracy: number;
  /** Precision, recall (= sensitivity) and F1 of the fractured class. */
  precision: number;
  recall: number;
  f1: number;
  sensitivity: number;
  /** = recall of class 0. */
  specificity: number;
  /** Mean of the two recalls. */
  balancedAccuracy: number;
  auc: number;
  confusion: ConfusionMatrix;
  /** Per class: [non-fractured, fractured]. */
  perClass: [ClassReport, ClassReport];
  macro: { precision: number; recall: number; f1: number };
  weighted: { precision: number; recall: number; f1: number };
  baseline: BaselineMetrics;
}

/** Metrics of always predicting the majority class (`predicts`, 0 on a tie), whose constant score has AUC 0.5. */
export type BaselineMetrics = { predicts: 0 | 1 } & Pick<
  BinaryMetrics,
  'accuracy' | 'precision' | 'recall' | 'f1' | 'balancedAccuracy' | 'auc'
>;

/** ROC curve points (parallel arrays, fpr and tpr non-decreasing). */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Score thresholds: point i predicts positive for scores >= thresholds[i]; first is +Infinity. */
  thresholds: number[];
}

function checkInputs(probs: ArrayLike<number>, labels: ArrayLike<number>, scores = 'scores'): void {
  if (probs.length !== labels.length) throw new Error(`metrics: ${probs.length} ${scores} but ${labels.length} labels`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`metrics: label ${labels[i]} at ${i} is not 0/1`);
    if (Number.isNaN(probs[i]!)) throw new Error(`metrics: score at ${i} is NaN`);
  }
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);
const f1Of = (p: number, r: number): number => (p + r > 0 ? (2 * p * r) / (p + r) : 0);

/** 1 where `p > threshold` (fractured), else 0. */
const predictions = (probs: ArrayLike<number>, threshold: number): Uint8Array =>
  Uint8Array.from({ length: probs.length }, (_, i) => (probs[i]! > threshold ? 1 : 0));

/** The confusion matrix of 0/1 predictions, each item counted `w[i]` times (default once). */
function countConfusion(pred: Uint8Array, labels: ArrayLike<number>, w?: ArrayLike<number>): ConfusionMatrix {
  const cm: ConfusionMatrix = [
    [0, 0],
    [0, 0],
  ];
  for (let i = 0; i < pred.length; i++) cm[labels[i] === 1 ? 1 : 0][pred[i]!] += w ? w[i]! : 1;
  return cm;
}

/** Confusion matrix [[tn, fp], [fn, tp]] of predictions `p > threshold`. */
export function confusionMatrix(probs: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): ConfusionMatrix {
  checkInputs(probs, labels);
  return countConfusion(predictions(probs, threshold), labels);
}

/** Per-class reports and averages from a confusion matrix. */
function reportFromConfusion(
  cm: ConfusionMatrix,
): Pick<BinaryMetrics, 'perClass' | 'macro' | 'weighted' | 'accuracy' | 'balancedAccuracy'> {
  const [[tn, fp], [fn, tp]] = cm;
  const n = tn + fp + fn + tp;
  const cls = (tpC: number, fpC: number, fnC: number): ClassReport => {
    const precision = ratio(tpC, tpC + fpC);
    const recall = ratio(tpC, tpC + fnC);
    return { precision, recall, f1: f1Of(precision, recall), support: tpC + fnC };
  };
  const c0 = cls(tn, fn, fp);
  const c1 = cls(tp, fp, fn);
  const avg = (k: 'precision' | 'recall' | 'f1', weighted: boolean): number =>
    weighted ? ratio(c0[k] * c0.support + c1[k] * c1.support, c0.support + c1.support) : (c0[k] + c1[k]) / 2;
  // sklearn's balanced_accuracy_score averages the recall of the classes present in y_true.
  const present = [c0, c1].filter((c) => c.support > 0);
  return {
    perClass: [c0, c1],
    macro: { precision: avg('precision', false), recall: avg('recall', false), f1: avg('f1', false) },
    weighted: { precision: avg('precision', true), recall: avg('recall', true), f1: avg('f1', true) },
    accuracy: ratio(tn + tp, n),
    balancedAccuracy: present.length ? present.reduce((s, c) => s + c.recall, 0) / present.length : 0,
  };
}

/** ROC curve as sklearn's `roc_curve(y, p)` (drop_intermediate=True). Rates are NaN for a class that is absent. */
export function rocCurve(probs: ArrayLike<number>, labels: ArrayLike<number>): RocCurve {
  checkInputs(probs, labels);
  // Cumulative [fp, tp, threshold] at each distinct score, scores descending.
  const idx = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]!);
  const all: [number, number, number][] = [];
  let [fp, tp] = [0, 0];
  idx.forEach((i, k) => {
    if (labels[i] === 1) tp++;
    else fp++;
    // Close a point only after the last of a group of tied scores.
    if (k === idx.length - 1 || probs[idx[k + 1]!] !== probs[i]) all.push([fp, tp, probs[i]!]);
  });
  // Keep a point only where the curve changes direction (second differences non-zero), plus the ends.
  const bends = (i: number, c: number): boolean => all[i - 1]![c]! - 2 * all[i]![c]! + all[i + 1]![c]! !== 0;
  const pts = all.filter((_, i) => i === 0 || i === all.length - 1 || bends(i, 0) || bends(i, 1));
  const [N, P] = all.length ? all[all.length - 1]! : [0, 0];
  return {
    fpr: [0, ...pts.map((p) => (N > 0 ? p[0] / N : NaN))],
    tpr: [0, ...pts.map((p) => (P > 0 ? p[1] / P : NaN))],
    thresholds: [Infinity, ...pts.map((p) => p[2])],
  };
}

/** ROC AUC as sklearn's `roc_auc_score` (ties count half), item i counted `w[i]` times; NaN when a class is absent. */
export function rocAuc(probs: ArrayLike<number>, labels: ArrayLike<number>, w?: ArrayLike<number>): number {
  checkInputs(probs, labels);
  return weightedAuc(rankScores(probs), labels, w ?? new Float64Array(labels.length).fill(1));
}

/** Metrics of always predicting the majority class. */
export function majorityBaseline(labels: ArrayLike<number>): BaselineMetrics {
  const n1 = Array.from(labels).filter((l) => l === 1).length;
  const predicts: 0 | 1 = n1 > labels.length - n1 ? 1 : 0;
  const r = reportFromConfusion(confusionMatrix(new Array<number>(labels.length).fill(predicts), labels));
  const { precision, recall, f1 } = r.perClass[1];
  return { predicts, accuracy: r.accuracy, precision, recall, f1, balancedAccuracy: r.balancedAccuracy, auc: 0.5 };
}

/** All metrics of fractured-class probabilities against 0/1 labels, fractured when `p > threshold` (module doc). */
export function binaryMetrics(probs: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): BinaryMetrics {
  const confusion = confusionMatrix(probs, labels, threshold);
  const r = reportFromConfusion(confusion);
  const [[tn, fp], [fn, tp]] = confusion;
  return {
    n: labels.length,
    positives: fn + tp,
    negatives: tn + fp,
    threshold,
    accuracy: r.accuracy,
    precision: r.perClass[1].precision,
    recall: r.perClass[1].recall,
    f1: r.perClass[1].f1,
    sensitivity: r.perClass[1].recall,
    specificity: r.perClass[0].recall,
    balancedAccuracy: r.balancedAccuracy,
    auc: rocAuc(probs, labels),
    confusion,
    perClass: r.perClass,
    macro: r.macro,
    weighted: r.weighted,
    baseline: majorityBaseline(labels),
  };
}

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

/** The bootstrap's resamples (default 2000), confidence level (default 0.95) and seed (default 0). */
export interface BootstrapOptions {
  resamples?: number;
  level?: number;
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
type RankedScores = ReturnType<typeof rankScores>;

function rankScores(scores: ArrayLike<number>) {
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

/** Accuracy and fractured-class F1 (zero when no image is predicted or labelled fractured) of weighted items. */
function weightedCounts(pred: Uint8Array, labels: ArrayLike<number>, w: ArrayLike<number>): [number, number] {
  const [[tn, fp], [fn, tp]] = countConfusion(pred, labels, w);
  const total = tn + fp + fn + tp;
  return [total ? (tn + tp) / total : NaN, tp > 0 ? (2 * tp) / (2 * tp + fp + fn) : 0];
}

/** Bootstrap intervals of one classifier's test metrics (F1: of the fractured class). */
export interface MetricIntervals {
  accuracy: Interval;
  f1: Interval;
  auc: Interval;
}

/** Bootstrap intervals (95 % by default) of accuracy, fractured F1 and ROC AUC, fractured when p > threshold. */
export function bootstrapMetrics(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  opts: BootstrapOptions & { threshold?: number } = {},
): MetricIntervals {
  checkInputs(probs, labels);
  const pred = predictions(probs, opts.threshold ?? 0.5);
  const ranked = rankScores(probs);
  const stat = (w: Float64Array): number[] => [...weightedCounts(pred, labels, w), weightedAuc(ranked, labels, w)];
  const [accuracy, f1, auc] = bootstrap(labels, opts, stat) as [Interval, Interval, Interval];
  return { accuracy, f1, auc };
}

/** Paired bootstrap interval of AUC(a) - AUC(b) on the same `labels`: each resample scores both on one draw. */
export function pairedAucDifference(
  probsA: ArrayLike<number>,
  probsB: ArrayLike<number>,
  labels: ArrayLike<number>,
  opts: BootstrapOptions = {},
): Interval {
  checkInputs(probsA, labels, 'scores of the first classifier');
  checkInputs(probsB, labels, 'scores of the second classifier');
  const [ra, rb] = [rankScores(probsA), rankScores(probsB)];
  return bootstrap(labels, opts, (w) => [weightedAuc(ra, labels, w) - weightedAuc(rb, labels, w)])[0]!;
}

/**
 * McNemar's test of two classifiers on `n` images: `b` right by the first only, `c` by the second
 * only, `p` the two-sided exact p-value (1 when b = c).
 */
export interface McNemarResult {
  b: number;
  c: number;
  n: number;
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
