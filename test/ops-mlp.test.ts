// @adapters all
// Issue #25, end to end: a small non-convolutional model ported to the public API as a PyTorch user
// writes it (two Dense layers, log-softmax, negative log-likelihood on int32 labels) trains to
// near-zero loss on a toy task, and its loss equals softmaxCrossEntropy's on the same int32 labels.
import { describe, it, beforeAll, expect } from 'vitest';
import {
  Tensor,
  tidy,
  backward,
  noGrad,
  buildScope,
  Dense,
  Sequential,
  ReLU,
  Adam,
  logSoftmax,
  oneHot,
  mul,
  sum,
  mean,
  neg,
  argmax,
  softmaxCrossEntropy,
  gather,
  flatten,
} from '../src/index.js';
import { setup, rng } from './helpers.js';

beforeAll(setup);

/** 96 points in [-1, 1]^2 labelled by a nonlinear rule: 0 inside radius 0.55, else 1 or 2 by the sign of x*y. */
function toyData(): { x: Float32Array; labels: Int32Array } {
  const r = rng(5);
  const n = 96;
  const x = new Float32Array(n * 2);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const [a, b] = [2 * r() - 1, 2 * r() - 1];
    x.set([a, b], 2 * i);
    labels[i] = Math.hypot(a, b) < 0.55 ? 0 : a * b > 0 ? 1 : 2;
  }
  return { x, labels };
}

/** Negative log-likelihood of log-probabilities [N, C] at int32 labels [N], as PyTorch's NLLLoss. */
function nllLoss(logp: Tensor, labels: Tensor): Tensor {
  return neg(mean(sum(mul(logp, oneHot(labels, logp.shape[1])), 1)));
}

describe('a 2-layer MLP with log-softmax cross-entropy on int32 labels', () => {
  it('trains to near-zero loss, and its predictions (argmax) match the labels', async () => {
    const { x: xs, labels: ls } = toyData();
    const N = ls.length;
    const x = Tensor.from(xs, [N, 2]);
    const labels = Tensor.from(ls, [N]); // an Int32Array: an int32 tensor
    expect(labels.dtype).toBe('int32');
    const model = buildScope(
      { seed: 3 },
      () =>
        new Sequential([new Dense({ inFeatures: 2, units: 64 }), new ReLU(), new Dense({ inFeatures: 64, units: 3 })]),
    );
    const opt = new Adam(model.parameters(), { lr: 0.02 });
    const losses: Tensor[] = [];
    for (let step = 0; step < 400; step++) {
      const loss = tidy(() => {
        const l = nllLoss(logSoftmax(model.forward(x)), labels);
        backward(l);
        return l;
      });
      opt.step();
      opt.zeroGrad();
      if (step === 0 || step === 399) losses.push(loss);
      else loss.dispose();
    }
    const [first, last] = await Promise.all(losses.map((l) => l.item()));
    expect(first).toBeGreaterThan(0.9); // about log(3) at the start
    expect(last).toBeLessThan(0.03);
    // The same loss three ways: NLL of log-softmax, softmaxCrossEntropy on int32 labels, and a gather.
    const [nllT, ceT, gatheredT, predT] = noGrad(() =>
      tidy(() => {
        const logits = model.forward(x);
        const logp = logSoftmax(logits);
        const flatIdx = Tensor.from(
          Int32Array.from(ls, (l, i) => i * 3 + l),
          [N],
        );
        return [
          nllLoss(logp, labels),
          softmaxCrossEntropy(logits, labels),
          neg(mean(gather(flatten(logp), flatIdx))),
          argmax(logits, 1),
        ];
      }),
    );
    const [nll, ce, gathered] = await Promise.all([nllT, ceT, gatheredT].map((t) => t.item()));
    const pred = await predT.readInt32();
    [nllT, ceT, gatheredT, predT].forEach((t) => t.dispose());
    expect(nll).toBeCloseTo(ce, 5);
    expect(gathered).toBeCloseTo(ce, 5);
    expect(Array.from(pred)).toEqual(Array.from(ls));
    losses.forEach((l) => l.dispose());
    x.dispose();
    labels.dispose();
  });
});
