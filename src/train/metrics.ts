/**
 * Binary classification metrics as scikit-learn defines them, class 1 (fractured) positive: fractured
 * when `p > t` (strictly; t = 0.5 is the argmax of a 2-way softmax), precision/recall/F1 with
 * `zero_division=0`, macro and support-weighted averages, ROC AUC with ties counting one half (NaN
 * when a class is absent) and `roc_curve` with `drop_intermediate=True` (first threshold +Infinity).
 * @module
 */
import { aucOf } from './stats.js';

/** Confusion matrix [[tn, fp], [fn, tp]] (rows: true class 0/1, columns: predicted 0/1), as sklearn. */
export type ConfusionMatrix = [[number, number], [number, number]];

/** Precision, recall, F1 and support of one class. */
export interface ClassReport {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** Metrics of a constant predictor of the majority class, for comparison. */
export interface BaselineMetrics {
  /** The class it always predicts (the most frequent label; 0 on a tie). */
  predicts: 0 | 1;
  accuracy: number;
  /** Precision, recall and F1 of the fractured class. */
  precision: number;
  recall: number;
  f1: number;
  balancedAccuracy: number;
  /** A constant score has AUC 0.5. */
  auc: number;
}

/** All metrics of a set of predictions. */
export interface BinaryMetrics {
  n: number;
  positives: number;
  negatives: number;
  threshold: number;
  accuracy: number;
  /** Precision of the fractured class. */
  precision: number;
  /** Recall (sensitivity) of the fractured class. */
  recall: number;
  /** F1 of the fractured class. */
  f1: number;
  /** = recall of class 1. */
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

/** ROC curve points (parallel arrays, fpr and tpr non-decreasing). */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Score thresholds: point i predicts positive for scores >= thresholds[i]; first is +Infinity. */
  thresholds: number[];
}

function checkInputs(probs: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (probs.length !== labels.length) throw new Error(`metrics: ${probs.length} scores but ${labels.length} labels`);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`metrics: label ${labels[i]} at ${i} is not 0/1`);
    if (Number.isNaN(probs[i]!)) throw new Error(`metrics: score at ${i} is NaN`);
  }
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : 0);
const f1Of = (p: number, r: number): number => (p + r > 0 ? (2 * p * r) / (p + r) : 0);

/** Confusion matrix [[tn, fp], [fn, tp]] of predictions `p > threshold`. */
export function confusionMatrix(probs: ArrayLike<number>, labels: ArrayLike<number>, threshold = 0.5): ConfusionMatrix {
  checkInputs(probs, labels);
  const cm: ConfusionMatrix = [
    [0, 0],
    [0, 0],
  ];
  for (let i = 0; i < labels.length; i++) cm[labels[i]!][probs[i]! > threshold ? 1 : 0]++;
  return cm;
}

/** Per-class reports and averages from a confusion matrix. */
export function reportFromConfusion(
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

/** ROC curve as sklearn's `roc_curve(y, p, drop_intermediate=...)`. Rates are NaN for a class that is absent. */
export function rocCurve(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  opts: { dropIntermediate?: boolean } = {},
): RocCurve {
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
  const pts =
    (opts.dropIntermediate ?? true)
      ? all.filter((_, i) => i === 0 || i === all.length - 1 || bends(i, 0) || bends(i, 1))
      : all;
  const [N, P] = all.length ? all[all.length - 1]! : [0, 0];
  return {
    fpr: [0, ...pts.map((p) => (N > 0 ? p[0] / N : NaN))],
    tpr: [0, ...pts.map((p) => (P > 0 ? p[1] / P : NaN))],
    thresholds: [Infinity, ...pts.map((p) => p[2])],
  };
}

/** ROC AUC as sklearn's `roc_auc_score` (ties count half); NaN when one class is absent. */
export function rocAuc(probs: ArrayLike<number>, labels: ArrayLike<number>): number {
  checkInputs(probs, labels);
  return aucOf(probs, labels);
}

/** Metrics of always predicting the majority class. */
export function majorityBaseline(labels: ArrayLike<number>): BaselineMetrics {
  let n1 = 0;
  for (let i = 0; i < labels.length; i++) n1 += labels[i] === 1 ? 1 : 0;
  const predicts: 0 | 1 = n1 > labels.length - n1 ? 1 : 0;
  const r = reportFromConfusion(confusionMatrix(new Array<number>(labels.length).fill(predicts), labels));
  return {
    predicts,
    accuracy: r.accuracy,
    precision: r.perClass[1].precision,
    recall: r.perClass[1].recall,
    f1: r.perClass[1].f1,
    balancedAccuracy: r.balancedAccuracy,
    auc: 0.5,
  };
}

/**
 * All metrics from fractured-class probabilities and 0/1 labels (see module doc for definitions).
 * @param threshold decision threshold, fractured when `p > threshold` (default 0.5)
 */
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
