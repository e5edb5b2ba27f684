import { describe, expect, it } from 'vitest';
import {
  earlyStopping,
  KERAS_PLATEAU_DEFAULTS,
  reduceLROnPlateau,
  type PlateauOptions,
  type PlateauState,
} from '../src/train/plateau.js';

const fresh = (): PlateauState => ({ best: Infinity, wait: 0, cooldownCounter: 0 });

/** Runs a sequence of monitored values and returns the lr after each epoch. */
function run(s: PlateauState, values: number[], lr0: number, o: Partial<PlateauOptions> = {}): number[] {
  let lr = lr0;
  return values.map((v) => (lr = reduceLROnPlateau(s, v, lr, o)));
}

describe('ReduceLROnPlateau (Keras semantics)', () => {
  it('has the Keras defaults', () => {
    expect(KERAS_PLATEAU_DEFAULTS).toEqual({ factor: 0.1, patience: 10, minDelta: 1e-4, cooldown: 0, minLr: 0 });
  });

  it('reduces after `patience` epochs without improvement and restarts the wait', () => {
    const s = fresh();
    // e0 best=1.0, e1 best=0.9, e2 wait 1, e3 wait 2 -> reduce, e4 wait 1, e5 improves.
    const lrs = run(s, [1.0, 0.9, 0.95, 0.92, 0.91, 0.85], 1e-3, { patience: 2 });
    const r = Math.fround(1e-3 * 0.1);
    expect(lrs).toEqual([1e-3, 1e-3, 1e-3, r, r, r]);
    expect(s.best).toBe(0.85);
    expect(s.wait).toBe(0);
  });

  it('default patience 10: the 10th non-improving epoch reduces, then 10 more', () => {
    const values = [0.5, ...Array(25).fill(0.6)];
    const lrs = run(fresh(), values, Math.fround(1e-3));
    const r1 = Math.fround(Math.fround(1e-3) * 0.1);
    const r2 = Math.fround(r1 * 0.1);
    expect(lrs.slice(0, 10).every((v) => v === Math.fround(1e-3))).toBe(true);
    expect(lrs[10]).toBe(r1); // epoch 10 = 10th epoch without improvement
    expect(lrs[19]).toBe(r1);
    expect(lrs[20]).toBe(r2);
    expect(lrs[25]).toBe(r2);
  });

  it('min_delta is absolute: an improvement smaller than 1e-4 does not count', () => {
    const s = fresh();
    const o = { patience: 1 };
    reduceLROnPlateau(s, 0.9, 1, o);
    const lr = reduceLROnPlateau(s, 0.89995, 1, o); // 0.89995 < 0.9 - 1e-4 is false
    expect(lr).toBe(Math.fround(0.1));
    expect(s.best).toBe(0.9);
    reduceLROnPlateau(s, 0.8998, lr, o); // 0.8998 < 0.8999: improvement
    expect(s.best).toBe(0.8998);
  });

  it('cooldown: no counting during cooldown epochs', () => {
    const s = fresh();
    const o = { patience: 1, cooldown: 2, factor: 0.5 };
    // e0 improves; e1 reduces (cooldown 2); e2 cooldown 2->1, no count; e3 cooldown 1->0, then counts -> reduces.
    const reduced = [1, 1, 1, 1, 1, 1, 1].map((v, i) => reduceLROnPlateau(s, v, 1, o) !== 1 && i);
    expect(reduced.filter((v) => v !== false)).toEqual([1, 3, 5]);
  });

  it('min_lr bounds the rate and stops further reductions', () => {
    const lrs = run(fresh(), [1, 1, 1, 1, 1], 1e-3, { patience: 1, minLr: 5e-5 });
    expect(lrs[1]).toBe(Math.fround(1e-4));
    expect(lrs[2]).toBe(Math.fround(5e-5));
    expect(lrs[3]).toBe(Math.fround(5e-5));
    expect(lrs[4]).toBe(Math.fround(5e-5));
  });

  it('NaN values are ignored; a factor >= 1 is refused', () => {
    // A score where higher is better goes in negated (the trainer's val_auc).
    const lrs = run(fresh(), [-0.5, -0.6, NaN, -0.6, -0.55], 0.01, { patience: 2 });
    // NaN skipped; -0.6 is not < -0.6 - 1e-4 -> wait 1; -0.55 -> wait 2 -> reduce.
    expect(lrs).toEqual([0.01, 0.01, 0.01, 0.01, Math.fround(0.001)]);
    expect(() => reduceLROnPlateau(fresh(), 1, 1, { factor: 1 })).toThrow(/factor/);
  });
});

describe('EarlyStopping (Keras semantics)', () => {
  it('stops after patience epochs without improvement', () => {
    const s = { best: Infinity, wait: 0 };
    const stops = [1, 0.9, 0.95, 0.96, 0.5].map((v, e) => earlyStopping(s, v, e, 2));
    expect(stops).toEqual([false, false, false, true, false]);
    expect(s).toEqual({ best: 0.5, wait: 0 });
  });

  it('patience 0 (Keras default) stops at the first non-improving epoch after epoch 0', () => {
    const s = { best: Infinity, wait: 0 };
    expect(earlyStopping(s, 1, 0, 0)).toBe(false);
    expect(earlyStopping(s, 1, 1, 0)).toBe(true);
  });

  it('skips NaN values', () => {
    const s = { best: 1, wait: 0 };
    expect(earlyStopping(s, NaN, 3, 1)).toBe(false);
    expect(s).toEqual({ best: 1, wait: 0 });
  });
});
