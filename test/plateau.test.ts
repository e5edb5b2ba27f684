import { describe, expect, it } from 'vitest';
import { EarlyStopping, KERAS_PLATEAU_DEFAULTS, ReduceLROnPlateau } from '../src/train/plateau.js';

/** Runs a sequence of monitored values and returns the lr after each epoch. */
function run(p: ReduceLROnPlateau, values: number[], lr0: number): number[] {
  let lr = lr0;
  return values.map((v) => (lr = p.step(v, lr).lr));
}

describe('ReduceLROnPlateau (Keras semantics)', () => {
  it('has the Keras defaults', () => {
    expect(KERAS_PLATEAU_DEFAULTS).toEqual({
      mode: 'min',
      factor: 0.1,
      patience: 10,
      minDelta: 1e-4,
      cooldown: 0,
      minLr: 0,
    });
  });

  it('reduces after `patience` epochs without improvement and restarts the wait', () => {
    const p = new ReduceLROnPlateau({ patience: 2 });
    // e0 best=1.0, e1 best=0.9, e2 wait 1, e3 wait 2 -> reduce, e4 wait 1, e5 improves.
    const lrs = run(p, [1.0, 0.9, 0.95, 0.92, 0.91, 0.85], 1e-3);
    const r = Math.fround(1e-3 * 0.1);
    expect(lrs).toEqual([1e-3, 1e-3, 1e-3, r, r, r]);
    expect(p.best).toBe(0.85);
    expect(p.wait).toBe(0);
  });

  it('default patience 10: the 10th non-improving epoch reduces, then 10 more', () => {
    const p = new ReduceLROnPlateau();
    const values = [0.5, ...Array(25).fill(0.6)];
    const lrs = run(p, values, Math.fround(1e-3));
    const r1 = Math.fround(Math.fround(1e-3) * 0.1);
    const r2 = Math.fround(r1 * 0.1);
    expect(lrs.slice(0, 10).every((v) => v === Math.fround(1e-3))).toBe(true);
    expect(lrs[10]).toBe(r1); // epoch 10 = 10th epoch without improvement
    expect(lrs[19]).toBe(r1);
    expect(lrs[20]).toBe(r2);
    expect(lrs[25]).toBe(r2);
  });

  it('min_delta is absolute: an improvement smaller than 1e-4 does not count', () => {
    const p = new ReduceLROnPlateau({ patience: 1 });
    p.step(0.9, 1);
    const s = p.step(0.89995, 1); // 0.89995 < 0.9 - 1e-4 is false
    expect(s.improved).toBe(false);
    expect(s.reduced).toBe(true);
    expect(p.best).toBe(0.9);
    const s2 = p.step(0.8998, s.lr); // 0.8998 < 0.8999: improvement
    expect(s2.improved).toBe(true);
    expect(p.best).toBe(0.8998);
  });

  it('cooldown: no counting during cooldown epochs', () => {
    const p = new ReduceLROnPlateau({ patience: 1, cooldown: 2, factor: 0.5 });
    // e0 improves; e1 reduces (cooldown 2); e2 cooldown 2->1, no count; e3 cooldown 1->0, then counts -> reduces.
    const reduced = [1, 1, 1, 1, 1, 1, 1].map((v, i) => p.step(v, 1).reduced && i);
    expect(reduced.filter((v) => v !== false)).toEqual([1, 3, 5]);
  });

  it('min_lr bounds the rate and stops further reductions', () => {
    const p = new ReduceLROnPlateau({ patience: 1, minLr: 5e-5 });
    const lrs = run(p, [1, 1, 1, 1, 1], 1e-3);
    expect(lrs[1]).toBe(Math.fround(1e-4));
    expect(lrs[2]).toBe(Math.fround(5e-5));
    expect(lrs[3]).toBe(Math.fround(5e-5));
    expect(lrs[4]).toBe(Math.fround(5e-5));
  });

  it('mode max (accuracy) and NaN values are ignored', () => {
    const p = new ReduceLROnPlateau({ mode: 'max', patience: 2 });
    const lrs = run(p, [0.5, 0.6, NaN, 0.6, 0.55], 0.01);
    // NaN skipped; 0.6 is not > 0.6 + 1e-4 -> wait 1; 0.55 -> wait 2 -> reduce.
    expect(lrs).toEqual([0.01, 0.01, 0.01, 0.01, Math.fround(0.001)]);
    expect(() => new ReduceLROnPlateau({ factor: 1 })).toThrow(/factor/);
  });
});

describe('EarlyStopping (Keras semantics)', () => {
  it('stops after patience epochs without improvement and remembers the best epoch', () => {
    const es = new EarlyStopping({ patience: 2 });
    const steps = [1, 0.9, 0.95, 0.96, 0.5].map((v, e) => es.step(v, e));
    expect(steps.map((s) => s.stop)).toEqual([false, false, false, true, false]);
    expect(steps.map((s) => s.improved)).toEqual([true, true, false, false, true]);
    expect(es.stoppedEpoch).toBe(3);
    expect(es.bestEpoch).toBe(4);
  });

  it('patience 0 (Keras default) stops at the first non-improving epoch after epoch 0', () => {
    const es = new EarlyStopping();
    expect(es.step(1, 0).stop).toBe(false);
    expect(es.step(1, 1).stop).toBe(true);
  });

  it('a baseline keeps the wait running until it is beaten', () => {
    const withBase = new EarlyStopping({ patience: 2, baseline: 0.5 });
    const a = [1, 1.1].map((v, e) => withBase.step(v, e).stop);
    expect(a).toEqual([false, true]); // e0 improved but wait stays 1; e1 wait 2 -> stop
    const noBase = new EarlyStopping({ patience: 2 });
    expect([1, 1.1].map((v, e) => noBase.step(v, e).stop)).toEqual([false, false]);
  });

  it('min_delta and start_from_epoch', () => {
    const es = new EarlyStopping({ patience: 1, minDelta: 0.1, startFromEpoch: 2 });
    expect(es.step(5, 0).improved).toBe(false); // ignored before epoch 2
    expect(es.step(5, 1).improved).toBe(false);
    expect(es.step(1, 2).improved).toBe(true);
    const s = es.step(0.95, 3); // 0.95 + 0.1 < 1 is false
    expect(s.improved).toBe(false);
    expect(s.stop).toBe(true);
  });
});
