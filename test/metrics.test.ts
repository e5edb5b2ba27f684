import { describe, expect, it } from 'vitest';
import { binaryMetrics, confusionMatrix, majorityBaseline, rocAuc, rocCurve } from '../src/train/metrics.js';

describe('metrics (sklearn definitions)', () => {
  it('roc_curve / roc_auc_score on the sklearn documentation example', () => {
    // sklearn docs: y = [0, 0, 1, 1], scores = [0.1, 0.4, 0.35, 0.8]
    // -> fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1], thresholds [inf, 0.8, 0.4, 0.35, 0.1], AUC 0.75.
    const y = [0, 0, 1, 1];
    const p = [0.1, 0.4, 0.35, 0.8];
    const c = rocCurve(p, y);
    expect(c.fpr).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(c.tpr).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(c.thresholds).toEqual([Infinity, 0.8, 0.4, 0.35, 0.1]);
    expect(rocAuc(p, y)).toBeCloseTo(0.75, 12);
  });

  it('drop_intermediate removes collinear points, keeping the area', () => {
    // Scores descending 0.9..0.1 with labels 1,1,1,0,0: the curve goes straight up then straight right.
    const y = [1, 1, 1, 0, 0];
    const p = [0.9, 0.8, 0.7, 0.2, 0.1];
    const dropped = rocCurve(p, y);
    // sklearn keeps index 0, the corner (0, 1), and the last point.
    expect(dropped.fpr).toEqual([0, 0, 0, 1]);
    expect(dropped.tpr).toEqual([0, 1 / 3, 1, 1]);
    expect(dropped.thresholds).toEqual([Infinity, 0.9, 0.7, 0.1]);
  });

  it('ties count one half (Mann-Whitney), as roc_auc_score', () => {
    // Positives {0.5, 0.9}, negatives {0.5, 0.2}: pairs 0.5~0.5 -> 1/2, the other three -> 1: AUC = 3.5 / 4.
    expect(rocAuc([0.5, 0.5, 0.2, 0.9], [0, 1, 0, 1])).toBeCloseTo(0.875, 12);
    // All scores tied: one diagonal segment -> 0.5.
    expect(rocAuc([0.3, 0.3, 0.3, 0.3], [0, 1, 0, 1])).toBeCloseTo(0.5, 12);
    // Tied group of the curve is one point: (0,0) -> (0.5, 0.5) for the tied pair, then the rest.
    const c = rocCurve([0.5, 0.5, 0.2, 0.9], [0, 1, 0, 1]);
    expect(c.fpr).toEqual([0, 0, 0.5, 1]);
    expect(c.tpr).toEqual([0, 0.5, 1, 1]);
  });

  it('AUC is NaN with one class only (sklearn raises)', () => {
    expect(rocAuc([0.1, 0.7], [1, 1])).toBeNaN();
  });

  it('imbalanced case: per-class, macro and weighted averages by hand', () => {
    // 6 non-fractured, 4 fractured.
    const y = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
    const p = [0.1, 0.2, 0.3, 0.6, 0.7, 0.4, 0.9, 0.8, 0.3, 0.45];
    // Threshold 0.5: negatives predicted 0,0,0,1,1,0 -> tn 4, fp 2; positives 1,1,0,0 -> tp 2, fn 2.
    const m = binaryMetrics(p, y);
    expect(m.confusion).toEqual([
      [4, 2],
      [2, 2],
    ]);
    expect(m.accuracy).toBeCloseTo(0.6, 12);
    // Class 1: P = 2/4, R = 2/4, F1 = 0.5. Class 0: P = 4/6, R = 4/6, F1 = 4/6.
    expect(m.precision).toBeCloseTo(0.5, 12);
    expect(m.recall).toBeCloseTo(0.5, 12);
    expect(m.f1).toBeCloseTo(0.5, 12);
    expect(m.perClass[0].precision).toBeCloseTo(4 / 6, 12);
    expect(m.perClass[0].f1).toBeCloseTo(4 / 6, 12);
    expect(m.perClass[0].support).toBe(6);
    expect(m.perClass[1].support).toBe(4);
    // macro = (0.5 + 2/3) / 2; weighted = (2/3 * 6 + 0.5 * 4) / 10 = 0.6.
    expect(m.macro.precision).toBeCloseTo(7 / 12, 12);
    expect(m.macro.f1).toBeCloseTo(7 / 12, 12);
    expect(m.weighted.precision).toBeCloseTo(0.6, 12);
    expect(m.weighted.recall).toBeCloseTo(0.6, 12);
    expect(m.weighted.f1).toBeCloseTo(0.6, 12);
    expect(m.sensitivity).toBeCloseTo(0.5, 12);
    expect(m.specificity).toBeCloseTo(4 / 6, 12);
    expect(m.balancedAccuracy).toBeCloseTo(7 / 12, 12);
    // AUC: 24 pairs; positives 0.9 and 0.8 beat all 6, 0.45 beats 4, 0.3 beats 2 and ties 1 -> 18.5 / 24.
    expect(m.auc).toBeCloseTo(18.5 / 24, 12);
    // Majority baseline: always non-fractured.
    expect(m.baseline).toEqual({
      predicts: 0,
      accuracy: 0.6,
      precision: 0,
      recall: 0,
      f1: 0,
      balancedAccuracy: 0.5,
      auc: 0.5,
    });
  });

  it('different precision and recall; F1 is their harmonic mean', () => {
    // tp 3, fp 1, fn 2, tn 4: P = 3/4, R = 3/5, F1 = 2PR/(P+R) = 2/3.
    const y = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
    const p = [0.9, 0.8, 0.7, 0.2, 0.1, 0.6, 0.4, 0.3, 0.2, 0.1];
    const m = binaryMetrics(p, y);
    expect(m.confusion).toEqual([
      [4, 1],
      [2, 3],
    ]);
    expect(m.precision).toBeCloseTo(0.75, 12);
    expect(m.recall).toBeCloseTo(0.6, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    // Class 0: P = 4/6, R = 4/5, F1 = 2*(2/3)(4/5)/(2/3+4/5) = 8/11.
    expect(m.perClass[0].f1).toBeCloseTo(8 / 11, 12);
    expect(m.macro.f1).toBeCloseTo((2 / 3 + 8 / 11) / 2, 12);
  });

  it('threshold: fractured only when p > t (argmax of a 2-way softmax picks class 0 on a tie)', () => {
    expect(confusionMatrix([0.5, 0.5000001], [1, 1])).toEqual([
      [0, 0],
      [1, 1],
    ]);
    expect(confusionMatrix([0.3], [1], 0.2)).toEqual([
      [0, 0],
      [0, 1],
    ]);
  });

  it('zero_division = 0 when nothing is predicted fractured', () => {
    const m = binaryMetrics([0.1, 0.2, 0.3], [0, 1, 0]);
    expect(m.precision).toBe(0);
    expect(m.recall).toBe(0);
    expect(m.f1).toBe(0);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
  });

  it('majority baseline picks fractured when it is the majority', () => {
    const b = majorityBaseline([1, 1, 0]);
    expect(b.predicts).toBe(1);
    expect(b.accuracy).toBeCloseTo(2 / 3, 12);
    expect(b.precision).toBeCloseTo(2 / 3, 12);
    expect(b.recall).toBe(1);
    expect(b.f1).toBeCloseTo(0.8, 12);
  });

  it('rejects bad input', () => {
    expect(() => binaryMetrics([0.1], [2])).toThrow(/not 0\/1/);
    expect(() => binaryMetrics([0.1, 0.2], [1])).toThrow(/labels/);
  });
});
