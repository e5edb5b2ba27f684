// @adapters all
/**
 * The layers over issue #25's ops: LayerNorm and GroupNorm (Keras's names, weights and epsilon) and the
 * Activation layer, each equal to its op (and the ops to their float64 references), with Keras's
 * parameter counts and errors for bad options.
 */
import { describe, it, beforeAll, expect } from 'vitest';
import { Tensor, LayerNorm, GroupNorm, Activation, ACTIVATIONS, Sequential, summary, tidy } from '../src/index.js';
import { normReference, normLayout, reference } from '../src/internals.js';
import { setup, randArray, expectClose, numel } from './helpers.js';

beforeAll(setup);

describe('LayerNorm and GroupNorm layers', () => {
  it("normalize as the ops with Keras's epsilon 1e-3; weights gamma and beta, 2C parameters", async () => {
    const shape = [3, 4, 6];
    const x = randArray(numel(shape), 1, -1, 3);
    const ln = new LayerNorm({ channels: 6, name: 'ln' });
    const gn = new GroupNorm({ channels: 6, groups: 3, name: 'gn' });
    expect(ln.epsilon).toBe(1e-3);
    expect(ln.namedParameters().map(([n]) => n)).toEqual(['ln.gamma', 'ln.beta']);
    expect(ln.countParams()).toEqual({ total: 12, trainable: 12, nonTrainable: 0 });
    expect(gn.countParams().total).toBe(12);
    const t = Tensor.from(x, shape);
    expectClose(await ln.forward(t).read(), normReference(x, normLayout(shape, 'layer', -1), null, null, 1e-3), {
      atol: 1e-5,
      rtol: 1e-4,
    });
    expectClose(await gn.forward(t).read(), normReference(x, normLayout(shape, 'group', 3), null, null, 1e-3), {
      atol: 1e-5,
      rtol: 1e-4,
    });
    const model = new Sequential([ln, new Activation({ activation: 'gelu' }), gn]);
    expect(summary(model, shape, { print: false })).toMatch(/LayerNormalization[\s\S]*Activation[\s\S]*Group/);
    // PyTorch's epsilon, no affine weights.
    const plain = new GroupNorm({ channels: 6, groups: 2, epsilon: 1e-5, scale: false, center: false });
    expect(plain.countParams().total).toBe(0);
    expectClose(await plain.forward(t).read(), normReference(x, normLayout(shape, 'group', 2), null, null, 1e-5), {
      atol: 1e-5,
      rtol: 1e-4,
    });
  });

  it('refuse bad options and inputs', () => {
    tidy(() => {
      expect(() => new GroupNorm({ channels: 6, groups: 4 })).toThrow(/groups \(4\) must divide its 6 channels/);
      expect(() => new GroupNorm({ channels: 8 })).toThrow(/groups \(32\) must divide its 8 channels/);
      expect(() => new GroupNorm({ groups: 2 } as unknown as { channels: number })).toThrow(
        /channels must be an integer/,
      );
      expect(() => new GroupNorm({ channels: 4, groups: 2 }).outputShape([4])).toThrow(/expects \[N, \.\.\., C\]/);
      expect(new GroupNorm({ channels: 4, groups: 2 })).not.toBeInstanceOf(LayerNorm);
      expect(() => new LayerNorm({ channels: 0 })).toThrow(/channels must be an integer >= 1/);
      expect(() => new LayerNorm({ channels: 4 }).forward(Tensor.zeros([2, 5]))).toThrow(/expects 4 channels last/);
      expect(() => new Activation({ activation: 'swishy' as 'gelu' })).toThrow(/activation must be/);
    });
  });
});

describe('Activation layer', () => {
  it('applies each named activation as its op', async () => {
    const x = randArray(10, 3, -4, 4);
    const refs: Record<string, (v: number) => number> = {
      relu: (v) => reference.unary('relu', [v])[0],
      sigmoid: (v) => reference.unary('sigmoid', [v])[0],
      tanh: Math.tanh,
      elu: (v) => reference.unary('elu', [v], 1)[0],
      selu: (v) => reference.unary('selu', [v])[0],
      gelu: (v) => reference.unary('gelu', [v])[0],
      gelu_tanh: (v) => reference.unary('geluTanh', [v])[0],
      swish: (v) => v / (1 + Math.exp(-v)),
      silu: (v) => v / (1 + Math.exp(-v)),
      softplus: (v) => Math.log1p(Math.exp(v)),
      hard_sigmoid: (v) => Math.min(1, Math.max(0, v / 6 + 0.5)),
      hard_swish: (v) => v * Math.min(1, Math.max(0, v / 6 + 0.5)),
      leaky_relu: (v) => (v > 0 ? v : 0.2 * v),
    };
    expect(Object.keys(refs).sort()).toEqual(Object.keys(ACTIVATIONS).sort());
    const t = Tensor.from(x, [10]);
    for (const [name, ref] of Object.entries(refs)) {
      const layer = new Activation({ activation: name as keyof typeof ACTIVATIONS });
      expectClose(await layer.forward(t).read(), Array.from(x, ref), { what: name, atol: 1e-6, rtol: 1e-5 });
    }
  });
});
