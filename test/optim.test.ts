// @adapters all
import { describe, it, beforeAll, expect, vi } from 'vitest';
import { Tensor, Adam, SGD, tidy, backward, matmul, relu, sub, square, mean, add, mul, noGrad } from '../src/index.js';
import { adamReference, sgdReference } from '../src/internals.js';
import { setup, randArray, expectClose } from './helpers.js';

beforeAll(setup);

// 1001: the scalar kernels; 1028: the vec4 kernels (257 vec4s, not a multiple of the workgroup either).
for (const n of [1001, 1028])
  describe(`optimizers vs float64 CPU implementations over several steps (n = ${n})`, () => {
    const steps = 5;
    const grads = Array.from({ length: steps }, (_, s) => randArray(n, 100 + s, -2, 2));
    const p0 = randArray(n, 7);

    async function run(make: (p: Tensor) => Adam | SGD): Promise<Float32Array> {
      const p = Tensor.from(Float32Array.from(p0), [n], { requiresGrad: true, name: 'p' });
      const opt = make(p);
      for (const g of grads) {
        p.grad = Tensor.from(Float32Array.from(g), [n]);
        opt.step();
        opt.zeroGrad();
      }
      const out = await p.read();
      opt.dispose();
      p.dispose();
      return out;
    }

    for (const weightDecay of [0, 0.01]) {
      it(`Adam (Keras formulation), weightDecay ${weightDecay}`, async () => {
        const o = { lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay };
        const got = await run((p) => new Adam([p], o));
        expectClose(got, adamReference(p0, grads, o), { atol: 1e-6, rtol: 1e-5 });
      });
    }
    for (const nesterov of [false, true]) {
      it(`SGD momentum, nesterov ${nesterov}`, async () => {
        const o = { lr: 0.05, momentum: 0.9, nesterov, weightDecay: 1e-3 };
        const got = await run((p) => new SGD([p], o));
        expectClose(got, sgdReference(p0, grads, o), { atol: 1e-6, rtol: 1e-5 });
      });
    }
    it('state round-trips for checkpoints', async () => {
      const p = Tensor.from(Float32Array.from(p0), [n], { requiresGrad: true, name: 'p' });
      const a = new Adam([p], { lr: 0.01 });
      expect(a).toMatchObject({ beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weightDecay: 0 });
      const sgd = new SGD([p], { momentum: 0.5, nesterov: true });
      expect(sgd).toMatchObject({ momentum: 0.5, nesterov: true, weightDecay: 0 });
      sgd.dispose();
      p.grad = Tensor.from(Float32Array.from(grads[0]), [n]);
      a.step();
      const st = await a.state();
      expect(st.iterations).toBe(1);
      expect([...st.slots.keys()].sort()).toEqual(['m.p', 'v.p']);
      const b = new Adam([p], { lr: 0.01 });
      b.loadState(st);
      const st2 = await b.state();
      expect(st2.slots.get('m.p')!.data).toEqual(st.slots.get('m.p')!.data);
      a.dispose();
      b.dispose();
      a.zeroGrad();
      p.dispose();
    });
    it('rejects duplicate parameter names', () => {
      const a = Tensor.zeros([1]);
      a.name = 'w';
      const b = Tensor.zeros([1]);
      b.name = 'w';
      expect(() => new Adam([a, b])).toThrow(/both named 'w'/);
      a.dispose();
      b.dispose();
    });
  });

describe('end to end', () => {
  it('a 2-layer network trained with Adam reaches near-zero training loss', async () => {
    // Regression of a fixed random 2-layer teacher network.
    const N = 32,
      D = 6,
      H = 24;
    const X = randArray(N * D, 1);
    const teacher1 = randArray(D * H, 2);
    const teacher2 = randArray(H, 3);
    const x = Tensor.from(Float32Array.from(X), [N, D]);
    const y = noGrad(() =>
      tidy(() =>
        matmul(
          relu(matmul(x, Tensor.from(Float32Array.from(teacher1), [D, H]))),
          Tensor.from(Float32Array.from(teacher2), [H, 1]),
        ),
      ),
    );
    const w1 = Tensor.from(randArray(D * H, 10, -0.5, 0.5), [D, H], { requiresGrad: true, name: 'w1' });
    const b1 = Tensor.from(new Float32Array(H), [H], { requiresGrad: true, name: 'b1' });
    const w2 = Tensor.from(randArray(H, 11, -0.5, 0.5), [H, 1], { requiresGrad: true, name: 'w2' });
    const opt = new Adam([w1, b1, w2], { lr: 0.01 });
    const losses: number[] = [];
    for (let step = 0; step < 400; step++) {
      const loss = tidy(() => {
        const pred = matmul(relu(add(matmul(x, w1), b1)), w2);
        const l = mean(square(sub(pred, y)));
        backward(l);
        return l;
      });
      opt.step();
      opt.zeroGrad();
      if (step % 50 === 0 || step === 399) losses.push(await loss.item());
      loss.dispose();
    }
    const target = await noGrad(() => tidy(() => mean(square(y)))).item();
    expect(losses[0]).toBeGreaterThan(0.05 * target);
    expect(losses[losses.length - 1]).toBeLessThan(1e-3 * Math.max(target, 1e-3) + 1e-4);
  });
});

describe('options and parameters (issue #24)', () => {
  it('Adam and SGD refuse bad options, naming them, and parameters that need no gradient', () => {
    const p = Tensor.zeros([3]);
    expect(() => new Adam([p])).toThrow(
      /Adam parameter 0 \(tensor #\d+ \[3\]\) does not require gradients.*requiresGrad = true/,
    );
    p.requiresGrad = true;
    expect(() => new Adam([p], { lr: NaN })).toThrow(/Adam lr must be a finite number >= 0, got NaN/);
    expect(() => new Adam([p], { lr: -1 })).toThrow(/Adam lr must be a finite number >= 0, got -1/);
    expect(() => new Adam([p], { beta1: 1.5 })).toThrow(/Adam beta1 must be a finite number in \[0, 1\), got 1.5/);
    expect(() => new Adam([p], { beta2: NaN })).toThrow(/Adam beta2 must be/);
    expect(() => new Adam([p], { epsilon: -1e-7 })).toThrow(/Adam epsilon must be a finite number >= 0/);
    expect(() => new Adam([p, p])).toThrow(/parameter 1 .* is parameter 0 again/);
    expect(() => new SGD([p], { momentum: -0.5 })).toThrow(
      /SGD momentum must be a finite number in \[0, 1\), got -0.5/,
    );
    expect(() => new SGD([p], { nesterov: true })).toThrow(/nesterov needs a momentum > 0/);
    const opt = new Adam([p], { lr: 0.1 });
    expect(() => (opt.lr = Infinity)).toThrow(/Adam lr must be a finite number >= 0, got Infinity/);
    expect(opt.lr).toBe(0.1);
    opt.dispose();
    p.dispose();
  });
});

describe('memory (issue #24)', () => {
  it('step() warns once when live memory grows at every step of a loop that does not free its tensors', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const n = 16384; // each leaked intermediate holds 64 KiB
    const p = Tensor.from(randArray(n, 1), [n], { requiresGrad: true, name: 'p' });
    const x = Tensor.from(randArray(n, 2), [n]);
    const opt = new Adam([p], { lr: 0.01 });
    const body = (): Tensor => {
      const l = mean(square(mul(p, x)));
      backward(l);
      return l;
    };
    const step = (tidied: boolean): void => {
      const loss = tidied ? tidy(body) : body();
      opt.step();
      opt.zeroGrad();
      loss.dispose();
    };
    try {
      for (let i = 0; i < 8; i++) step(true);
      expect(warn).not.toHaveBeenCalled();
      for (let i = 0; i < 8; i++) step(false); // leaks mul's and square's outputs every step
      expect(warn).toHaveBeenCalledTimes(1);
      const message = String(warn.mock.calls[0][0]);
      expect(message).toMatch(/grew at each of the last 4 optimizer steps \(\+0\.\d MiB per step/);
      expect(message).toMatch(/MiB per step.*Wrap the step's forward and backward in tidy\(\)/);
    } finally {
      warn.mockRestore();
      opt.dispose();
      for (const t of [p, x]) t.dispose();
    }
  });
});
