/**
 * A small convolutional network, forward and backward, run identically in Node and in Chromium
 * (test/browser.test.ts compares the two): conv2d 3x3 'same' + bias -> ReLU -> global average pool ->
 * dense -> softmax cross-entropy. While src/kernels/conv2d.ts or src/kernels/loss.ts are missing, the
 * convolution is a 1x1 convolution written as a matmul and the loss a mean squared error; `impl` says
 * which ran, so both sides are known to have run the same network.
 */
import {
  init,
  runtime,
  Tensor,
  tidy,
  backward,
  matmul,
  relu,
  add,
  sub,
  square,
  mean,
  reshape,
} from '../../src/index.js';
import { loadOptional } from './optional.js';
import { randomData, oneHot } from './engine.js';

export interface SmallNetResult {
  impl: string;
  adapter: string;
  logits: number[];
  loss: number;
  /** Gradients of the loss with respect to the input and every parameter. */
  grads: Record<string, number[]>;
}

export async function runSmallNet(): Promise<SmallNetResult> {
  await init({ verbose: false });
  const mods = await loadOptional();
  const [N, H, W, C, F, K] = [2, 7, 6, 3, 5, 4];
  const useConv = !!mods.conv2d;
  const useXent = !!mods.softmaxCrossEntropy;
  const leaf = (name: string, shape: number[], seed: number, scale: number): Tensor =>
    Tensor.from(
      randomData(
        shape.reduce((a, b) => a * b, 1),
        seed,
        -scale,
        scale,
      ),
      shape,
      { requiresGrad: true, name },
    );
  const x = leaf('x', [N, H, W, C], 1, 1);
  const w1 = leaf('w1', useConv ? [3, 3, C, F] : [C, F], 2, 0.5);
  const b1 = leaf('b1', [F], 3, 0.1);
  const w2 = leaf('w2', [F, K], 4, 0.5);
  const b2 = leaf('b2', [K], 5, 0.1);
  const labels = Tensor.from(oneHot(N, K), [N, K]);
  const leaves = { x, w1, b1, w2, b2 };
  const { logits, loss } = tidy(() => {
    const h = useConv
      ? mods.conv2d!(x, w1, b1, { padding: 'same' })
      : add(reshape(matmul(reshape(x, [N * H * W, C]), w1), [N, H, W, F]), b1);
    const pooled = mean(relu(h), [1, 2]);
    const z = add(matmul(pooled, w2), b2);
    const l = useXent ? mods.softmaxCrossEntropy!(z, labels) : mean(square(sub(z, labels)));
    return { logits: z, loss: l };
  });
  backward(loss);
  const grads: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(leaves)) grads[k] = [...(await t.grad!.read())];
  const out: SmallNetResult = {
    impl:
      `${useConv ? 'conv2d 3x3' : 'matmul 1x1 conv'} + relu + mean pool + dense + ` +
      `${useXent ? 'softmaxCrossEntropy' : 'mse'}`,
    adapter: `${runtime().info.kind}: ${runtime().info.description || runtime().info.vendor}`,
    logits: [...(await logits.read())],
    loss: (await loss.read())[0],
    grads,
  };
  for (const t of [...Object.values(leaves), labels, logits, loss]) {
    t.grad?.dispose();
    t.dispose();
  }
  return out;
}
