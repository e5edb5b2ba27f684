// @adapters all
import { describe, it, expect, beforeAll } from 'vitest';
import { Tensor } from '../src/index.js';
import { dropout, dropoutReference, dropoutMaskReference } from '../src/kernels/dropout.js';
import { setup, expectClose, checkOp } from './helpers.js';

beforeAll(setup);

describe('dropout', () => {
  it('matches the float64 reference bit-for-bit in its mask (odd shape), gradient included', () =>
    // x nonzero, so zeros in y are dropped elements
    checkOp({
      op: (t) => dropout(t, 0.3, 12345),
      inputs: [{ shape: [3, 7, 5, 6], seed: 1, range: [0.5, 1.5] }],
      ref: (x) => dropoutReference(x, 0.3, 12345),
      fwd: { atol: 1e-7, rtol: 1e-6 },
      fd: { atol: 1e-6, rtol: 1e-5 },
    }));

  it('same seed gives the same mask; another seed another mask', async () => {
    const n = 4099;
    const x = Tensor.ones([n]);
    const a = await dropout(x, 0.5, 7).read();
    const b = await dropout(x, 0.5, 7).read();
    const c = await dropout(x, 0.5, 8).read();
    expect(Array.from(a)).toEqual(Array.from(b));
    let diff = 0;
    for (let i = 0; i < n; i++) if ((a[i] === 0) !== (c[i] === 0)) diff++;
    // Independent masks at rate 0.5 disagree on about half the elements.
    expect(diff / n).toBeGreaterThan(0.4);
    expect(diff / n).toBeLessThan(0.6);
  });

  for (const rate of [0.1, 0.5, 0.8]) {
    it(`rate ${rate}: the dropped fraction and the inverted scaling`, async () => {
      const n = 200_003;
      const y = await dropout(Tensor.ones([n]), rate, 2024 + rate * 10).read();
      let dropped = 0;
      let total = 0;
      let badScale = 0;
      const keptValue = Math.fround(1 / (1 - rate));
      for (const v of y) {
        if (v === 0) dropped++;
        else if (Math.abs(v - keptValue) > 1e-6) badScale++;
        total += v;
      }
      expect(badScale, 'kept elements scaled by 1 / (1 - rate)').toBe(0);
      // Binomial: 5 standard deviations.
      const sd = Math.sqrt((rate * (1 - rate)) / n);
      expect(Math.abs(dropped / n - rate)).toBeLessThan(5 * sd);
      // Inverted dropout keeps the expectation: mean(y) ~ 1.
      expect(Math.abs(total / n - 1)).toBeLessThan((5 * sd) / (1 - rate));
      // Neighbouring elements are not correlated (a weak counter hash would show runs).
      const m = dropoutMaskReference(n, rate, 2024 + rate * 10);
      let both = 0;
      for (let i = 1; i < n; i++) if (!m[i] && !m[i - 1]) both++;
      expect(Math.abs(both / (n - 1) - rate * rate)).toBeLessThan(0.01);
    });
  }

  it('backward applies the same mask and scale', async () => {
    const mask = dropoutMaskReference(2 * 5 * 3 * 7, 0.4, 99);
    const { out } = await checkOp({
      op: (t) => dropout(t, 0.4, 99),
      inputs: [{ shape: [2, 5, 3, 7], seed: 3, range: [0.5, 1.5] }],
      ref: (x) => dropoutReference(x, 0.4, 99),
      backwardRef: (dy) => [dy.map((v, i) => (mask[i] ? v / 0.6 : 0))],
      fwd: { atol: 1e-7, rtol: 1e-6 },
      bwd: { atol: 1e-7, rtol: 1e-6 },
      fd: { atol: 1e-6, rtol: 1e-5 },
      dy: 4,
    });
    for (let i = 0; i < out.length; i++) expect(out[i] === 0).toBe(mask[i] === 0);
  });

  for (const [name, f] of [
    ['inference (training = false)', (t: Tensor) => dropout(t, 0.5, 1, false)],
    ['rate 0', (t: Tensor) => dropout(t, 0, 1)],
  ] as const)
    it(`${name} is the identity, gradient included`, () =>
      checkOp({
        op: f,
        inputs: [{ shape: [3, 4], seed: 5 }],
        ref: (x) => x,
        backwardRef: (dy) => [dy],
        fwd: { atol: 0, rtol: 0 },
        bwd: { atol: 0, rtol: 0 },
        dy: 6,
      }));

  it('rate 1 is refused', () => {
    expect(() => dropout(Tensor.ones([2]), 1, 0)).toThrow(/rate/);
  });

  it('a dropped NaN stays NaN (x * 0, as PyTorch), and bad rates and seeds are named', async () => {
    const x = Float64Array.from({ length: 64 }, (_, i) => (i % 2 ? NaN : 1));
    const y = await dropout(Tensor.from(Float32Array.from(x), [64]), 0.5, 7).read();
    const mask = dropoutMaskReference(64, 0.5, 7);
    expect(mask.includes(0) && mask.includes(1)).toBe(true);
    expectClose(y, dropoutReference(x, 0.5, 7), { what: 'y' });
    for (let i = 1; i < 64; i += 2) expect(y[i]).toBeNaN();
    const t = Tensor.ones([2]);
    expect(() => dropout(t, NaN, 0)).toThrow(/dropout rate must be a finite number in \[0, 1\), got NaN/);
    expect(() => dropout(t, 0.5, 0.5)).toThrow(/dropout seed must be an integer, got 0.5/);
    t.dispose();
  });
});
