// @adapters all
/**
 * Issue #25's new ops together, through the public API only: a small 1-D convolutional network on
 * sequences (conv1d, layerNorm, gelu, maxPool1d, a dilated causal conv1d, leakyRelu, groupNorm, a batched
 * matmul head) trained with Adam to near-zero loss on a toy task: which third of the sequence holds a bump.
 */
import { describe, it, beforeAll, expect } from 'vitest';
import {
  Tensor,
  tidy,
  backward,
  conv1d,
  layerNorm,
  groupNorm,
  gelu,
  leakyRelu,
  maxPool1d,
  matmul,
  reshape,
  add,
  softmaxCrossEntropy,
  Adam,
} from '../src/index.js';
import { setup, rng } from './helpers.js';

beforeAll(setup);

describe('a 1-D conv net on sequences, end to end', () => {
  it('trains to near-zero loss', async () => {
    const [N, L, C, K] = [24, 12, 2, 3];
    const r = rng(5);
    const xs: number[] = [];
    const ys: number[] = [];
    for (let n = 0; n < N; n++) {
      const cls = n % K;
      const at = cls * 4 + Math.floor(r() * 2);
      for (let t = 0; t < L; t++) {
        const bump = t >= at && t < at + 2 ? 1 : 0;
        xs.push(bump + 0.1 * (r() - 0.5), 0.5 * bump + 0.1 * (r() - 0.5));
      }
      for (let k = 0; k < K; k++) ys.push(k === cls ? 1 : 0);
    }
    const x = Tensor.from(xs, [N, L, C]);
    const labels = Tensor.from(ys, [N, K]);
    const param = (shape: number[], scale: number, name: string) =>
      Tensor.from(
        Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => scale * (r() - 0.5)),
        shape,
        { requiresGrad: true, name },
      );
    const w1 = param([3, C, 8], 1, 'w1');
    const g1 = Tensor.from(new Array(8).fill(1), [8], { requiresGrad: true });
    const b1 = Tensor.from(new Array(8).fill(0), [8], { requiresGrad: true });
    const w2 = param([3, 8, 8], 0.5, 'w2');
    const w3 = param([6 * 8, K], 0.3, 'w3');
    const b3 = Tensor.from(new Array(K).fill(0), [K], { requiresGrad: true });
    const params = [w1, g1, b1, w2, w3, b3];
    const opt = new Adam(params, { lr: 0.02 });
    let first = NaN;
    let last = NaN;
    for (let step = 0; step < 60; step++) {
      const loss = tidy(() => {
        let h = gelu(layerNorm(conv1d(x, w1, null, { padding: 'same' }), g1, b1));
        h = maxPool1d(h, { size: 2 }); // [N, 6, 8]
        h = leakyRelu(groupNorm(conv1d(h, w2, null, { padding: 'causal', dilation: 2 }), 2, null, null), 0.1);
        // The head as a batched matmul: [N, 1, 48] x [48, K] -> [N, 1, K].
        const logits = reshape(add(matmul(reshape(h, [N, 1, 6 * 8]), w3), b3), [N, K]);
        const l = softmaxCrossEntropy(logits, labels);
        backward(l);
        return l;
      });
      opt.step();
      opt.zeroGrad();
      if (step === 0 || step === 59) {
        const v = await loss.item();
        if (step === 0) first = v;
        else last = v;
      }
      loss.dispose();
    }
    // Chance is log(3) = 1.10.
    expect(first).toBeGreaterThan(0.5);
    expect(last).toBeLessThan(0.01);
  });
});
