/**
 * Peephole fusion for {@link Sequential}: adjacent layers that one kernel can run together.
 * - Conv2d -> BatchNorm (moving statistics) [-> ReLU] without autograd (inference): the batch norm,
 *   with the convolution's bias, becomes a per-channel affine map applied in the convolution's store
 *   (`conv2dFused`): no passes of their own for the batch norm and the ReLU. The map is kept by the
 *   batch norm layer until its inputs change ({@link BatchNorm.affineTable}).
 * - BatchNorm (moving statistics) [-> ReLU] -> 1x1 Conv2d [-> BatchNorm [-> ReLU]] without autograd
 *   (DenseNet's pre-activation, its layers and transitions): the first batch norm and ReLU are
 *   applied to the convolution's input as its GEMM reads it (`conv2dFused`'s prologue), the second
 *   as it stores: one pass for all five layers. With a bias-free convolution followed by an average
 *   pooling (DenseNet's transitions), the pooling goes first, reading through the batch norm and
 *   ReLU, and the convolution runs on its output: the same values (a 1x1 convolution and an average
 *   commute), a quarter of the multiply-adds after a 2x2 pooling.
 * - BatchNorm -> ReLU, in any mode: one normalise+ReLU pass (and its backward masks the gradient).
 * - ZeroPad2d -> Conv2d ('valid' or explicit padding), in any mode: the convolution pads (its loads
 *   skip the border), no padded copy; then as above when a batch norm follows.
 * - ReLU -> ZeroPad2d -> MaxPool2d (DenseNet's stem), in any mode: the pooling pads (padded cells
 *   never win its max; the zeros could only tie with the ReLU's output).
 * - DenseNet's dense block without autograd: a run of Concat([Identity, [BatchNorm, ReLU, ...,
 *   Conv2d]]) layers builds its concatenation in place: one buffer of the block's final width, each
 *   layer's batch norm (fused into its 1x1 convolution as above) reading the channels so far out of
 *   it and its last convolution writing its new channels into it, instead of copying the whole
 *   concatenation once per layer.
 * - Any other Concat without autograd (InceptionV3's mixed blocks): its branches write into one buffer
 *   of the concatenation's width; a branch ending in Conv2d [-> BatchNorm [-> ReLU]] stores through
 *   the fused convolution, a nested Concat into its channel range, anything else is copied in.
 * Only the library's own classes are fused (a subclass may override forward); the result equals
 * running the layers one by one (tests compare them).
 */
import { isGradEnabled, tidy, Tensor } from '../tensor.js';
import { conv2d, conv2dFused, pointwiseConv } from '../kernels/conv2d.js';
import { batchNormApplyTable } from '../kernels/batchnorm.js';
import { avgPool2dMapped, maxPool2d } from '../kernels/pool.js';
import { writeChannels } from '../kernels/concat.js';
import type { ChannelSlice } from '../kernels/matmul.js';
import type { Pad2d } from '../kernels/pad.js';
import type { Module } from './module.js';
import { Conv2d } from './conv.js';
import { BatchNorm, BatchNorm2d } from './norm.js';
import { AvgPool2d, Identity, MaxPool2d, ReLU, ZeroPad2d } from './basic.js';
// A cycle (containers.ts runs this module's chains): only used inside functions, never at load time.
import { Concat, Sequential } from './containers.js';

/**
 * Run a chain of layers as {@link Sequential} does: fused where a pattern matches; without autograd
 * each step in its own tidy, the previous output freed once the next exists (peak memory: a few
 * layers' activations, not the whole chain's).
 */
export function runChain(layers: readonly Module[], x: Tensor): Tensor {
  let y = x;
  const eager = !isGradEnabled();
  for (let i = 0; i < layers.length; ) {
    const prev = y;
    const step = (): { y: Tensor; used: number } => runFused(layers, i, prev) ?? { y: layers[i].forward(prev), used: 1 };
    const r = eager ? tidy(step) : step();
    y = r.y;
    i += r.used;
    if (eager && prev !== x && prev !== y) prev.dispose(); // views of prev keep its storage alive
  }
  return y;
}

const isExactly = (m: Module | undefined, cls: abstract new (...args: never[]) => Module): boolean => !!m && Object.getPrototypeOf(m) === cls.prototype;
const isBatchNorm = (m: Module | undefined): m is BatchNorm => isExactly(m, BatchNorm) || isExactly(m, BatchNorm2d);

/**
 * Run `layers[i]` fused with the layers after it when a pattern above matches: the output and how many
 * layers it covered; null when nothing fuses (run `layers[i]` alone).
 */
export function runFused(layers: readonly Module[], i: number, x: Tensor): { y: Tensor; used: number } | null {
  if (isExactly(layers[i], Concat)) return runDenseBlock(layers, i, x);
  const pooled = paddedMaxPool(layers, i, x);
  if (pooled) return pooled;
  // A zero padding followed by a 'valid' or explicitly padded convolution: the convolution pads.
  const padded = isExactly(layers[i], ZeroPad2d) && isExactly(layers[i + 1], Conv2d) && (layers[i + 1] as Conv2d).convOpts().padding !== 'same';
  const skip = padded ? 1 : 0;
  const [a, b, c] = [layers[i + skip], layers[i + skip + 1], layers[i + skip + 2]];
  if (isExactly(a, Conv2d)) {
    const conv = a as Conv2d;
    const opts = conv.convOpts();
    if (padded) opts.padding = addPadding((layers[i] as ZeroPad2d).padding, opts.padding as 'valid' | Pad2d);
    const relu = isExactly(c, ReLU);
    if (isBatchNorm(b) && !b.usesBatchStats && !isGradEnabled() && (opts.groups ?? 1) === 1) {
      const y = conv2dFused(x, conv.kernel, { table: b.affineTable(conv.bias), relu }, opts);
      return { y, used: skip + (relu ? 3 : 2) };
    }
    if (padded) return { y: conv2d(x, conv.kernel, conv.bias, opts), used: 2 };
  }
  const pre = runPreActivatedConv(layers, i, x);
  if (pre) return pre;
  if (isBatchNorm(a) && isExactly(b, ReLU)) return { y: a.forward(x, { relu: true }), used: 2 };
  return null;
}

/**
 * Without autograd, layers[i..] = BatchNorm (moving statistics) [-> ReLU] -> 1x1 Conv2d [-> BatchNorm
 * (moving statistics) [-> ReLU]] as one GEMM with a prologue and an epilogue, or -> bias-free 1x1
 * Conv2d -> AvgPool2d as the mapped pooling then the GEMM (see the file comment). With `from`, x is
 * wider and the batch norm's channels start at `from.offset`. Null when they are something else, or
 * when the shapes do not fit (the layers then run one by one and report it).
 */
function runPreActivatedConv(layers: readonly Module[], i: number, x: Tensor, from?: { offset: number }): { y: Tensor; used: number } | null {
  const bn = layers[i];
  if (isGradEnabled() || x.rank !== 4 || !isBatchNorm(bn) || bn.usesBatchStats) return null;
  const relu = isExactly(layers[i + 1], ReLU);
  const at = i + (relu ? 2 : 1);
  if (!isExactly(layers[at], Conv2d)) return null;
  const conv = layers[at] as Conv2d;
  const opts = conv.convOpts();
  const cin = bn.channels;
  if (!from && x.shape[3] !== cin) return null;
  if (!pointwiseConv([...x.shape.slice(0, 3), cin], conv.kernel.shape, opts)) return null;
  const post = layers[at + 1];
  const pre = { table: bn.affineTable(null), relu };
  if (!from && !conv.bias && isExactly(post, AvgPool2d)) {
    const pool = post as AvgPool2d;
    const pooled = avgPool2dMapped(x, pre, { size: pool.poolSize, stride: pool.strides, padding: pool.padding });
    return { y: conv2dFused(pooled, conv.kernel, null, opts), used: at + 2 - i };
  }
  const postRelu = isExactly(layers[at + 2], ReLU);
  const epilogued = isBatchNorm(post) && !post.usesBatchStats;
  if (!epilogued && conv.bias) return null; // the bias would need an epilogue of its own
  const y = conv2dFused(x, conv.kernel, epilogued ? { table: post.affineTable(conv.bias), relu: postRelu } : null, {
    ...opts,
    prologue: pre,
    from,
  });
  return { y, used: at + 1 - i + (epilogued ? (postRelu ? 2 : 1) : 0) };
}

/**
 * ReLU -> ZeroPad2d -> MaxPool2d ('valid' or explicit padding; DenseNet's stem), in any mode: the
 * pooling pads. Its padded cells never win a max, where the zeros could only tie with real cells >= 0
 * (every window holds one): the same values, and the same gradients through the ReLU (a tie at 0 gets
 * none). Null when the layers are something else or the padding would reach past a window.
 */
function paddedMaxPool(layers: readonly Module[], i: number, x: Tensor): { y: Tensor; used: number } | null {
  if (i === 0 || !isExactly(layers[i - 1], ReLU) || !isExactly(layers[i], ZeroPad2d) || !isExactly(layers[i + 1], MaxPool2d) || x.rank !== 4) return null;
  const pool = layers[i + 1] as MaxPool2d;
  if (pool.padding === 'same') return null;
  const pad = addPadding((layers[i] as ZeroPad2d).padding, 'valid');
  if (pad.some((v) => v >= pool.poolSize)) return null;
  return { y: maxPool2d(x, { size: pool.poolSize, stride: pool.strides, padding: pad }), used: 2 };
}

/** Per-side padding of a zero padding followed by a convolution's or pooling's own ('valid' or explicit). */
function addPadding(outer: Pad2d, inner: 'valid' | Pad2d): Pad2d {
  const p = inner === 'valid' ? [0, 0, 0, 0] : inner;
  return [outer[0] + p[0], outer[1] + p[1], outer[2] + p[2], outer[3] + p[3]];
}

/**
 * A DenseNet layer: Concat([Identity, Sequential [BatchNorm, (ReLU), ..., Conv2d without bias]]),
 * library classes only.
 */
function denseLayer(m: Module): { bn: BatchNorm; relu: boolean; middle: readonly Module[]; conv: Conv2d; f: Sequential } | null {
  if (!isExactly(m, Concat)) return null;
  const [skip, f, ...more] = (m as Concat).branches;
  if (more.length || !isExactly(skip, Identity) || !isExactly(f, Sequential)) return null;
  const layers = (f as Sequential).layers;
  const [bn, second] = layers;
  const relu = isExactly(second, ReLU);
  const first = relu ? 2 : 1;
  // Its last convolution stores into the block's buffer: a tail of a convolution alone.
  const tail = convTail(layers);
  if (!isBatchNorm(bn) || bn.usesBatchStats || !tail || tail.bn || tail.start < first) return null;
  return { bn, relu, middle: layers.slice(first, -1), conv: tail.conv, f: f as Sequential };
}

/**
 * Without autograd, a run of DenseNet layers from `layers[i]` on: the concatenation is built in one
 * buffer of the final width (see the file comment); null when fewer than one layer matches or
 * shapes do not allow it (the layers then run one by one and report what is wrong).
 */
function runDenseBlock(layers: readonly Module[], i: number, x: Tensor): { y: Tensor; used: number } | null {
  if (isGradEnabled() || x.rank !== 4) return null;
  const [N, H, W, C0] = x.shape;
  const plan: { layer: NonNullable<ReturnType<typeof denseLayer>>; inC: number }[] = [];
  let C = C0;
  for (let j = i; j < layers.length; j++) {
    const layer = denseLayer(layers[j]);
    if (!layer) break;
    let out: number[];
    try {
      out = layer.f.outputShape([N, H, W, C]);
    } catch {
      break;
    }
    if (out.length !== 4 || out[0] !== N || out[1] !== H || out[2] !== W) break;
    plan.push({ layer, inC: C });
    C += out[3];
  }
  if (!plan.length) return null;
  const y = Tensor.empty([N, H, W, C]);
  writeChannels(x, { tensor: y, offset: 0 });
  for (const { layer, inC } of plan) {
    tidy(() => {
      // The batch norm (and ReLU) ride on a 1x1 convolution's reads of y where one follows, else pass.
      // (Never the last convolution: that one stores into y.)
      const f = layer.f.layers.slice(0, -1);
      const pre = runPreActivatedConv(f, 0, y, { offset: 0 });
      const z = pre ? runChain(f.slice(pre.used), pre.y) : runChain(layer.middle, batchNormApplyTable(y, layer.bn.affineTable(null), layer.relu, { offset: 0, channels: inC }));
      conv2dFused(z, layer.conv.kernel, null, { ...layer.conv.convOpts(), into: { tensor: y, offset: inC } });
    });
  }
  return { y, used: plan.length };
}

/**
 * Without autograd, a Concat whose branches write their outputs straight into one NHWC buffer of the
 * concatenation's width (see the file comment); null when it does not apply (autograd on, not 4-D).
 */
export function runConcatInPlace(concat: Concat, x: Tensor): Tensor | null {
  if (isGradEnabled() || x.rank !== 4) return null;
  const out = concat.outputShape(x.shape); // names the shapes when the branches disagree
  if (out.length !== 4) return null;
  const y = Tensor.empty(out);
  let offset = 0;
  for (const b of concat.branches) offset += runInto(b, x, { tensor: y, offset });
  return y;
}

/** Run `m` on x with its output stored at channel `into.offset` of `into.tensor`; returns its channels. */
function runInto(m: Module, x: Tensor, into: ChannelSlice): number {
  return tidy(() => {
    if (isExactly(m, Concat)) {
      let offset = into.offset;
      for (const b of (m as Concat).branches) offset += runInto(b, x, { tensor: into.tensor, offset });
      return offset - into.offset;
    }
    if (isExactly(m, Sequential)) {
      const layers = (m as Sequential).layers;
      const last = layers[layers.length - 1];
      if (isExactly(last, Concat)) return runInto(last, runChain(layers.slice(0, -1), x), into);
      const tail = convTail(layers);
      if (tail) {
        // The Concat's outputShape has checked that every branch gives into's batch and spatial size.
        const { conv, bn, relu } = tail;
        const h = runChain(layers.slice(0, tail.start), x);
        conv2dFused(h, conv.kernel, bn ? { table: bn.affineTable(conv.bias), relu } : null, { ...conv.convOpts(), into });
        return conv.kernel.shape[3];
      }
    }
    const z = m.forward(x);
    writeChannels(z, into);
    return z.shape[z.rank - 1];
  });
}

/**
 * A chain's last layers as one fused convolution: Conv2d -> BatchNorm (moving statistics) [-> ReLU],
 * or a Conv2d without bias at the very end; dense convolutions only. Null when they are something else.
 */
function convTail(layers: readonly Module[]): { start: number; conv: Conv2d; bn: BatchNorm | null; relu: boolean } | null {
  const n = layers.length;
  const relu = isExactly(layers[n - 1], ReLU);
  const bnAt = n - (relu ? 2 : 1);
  const bn = layers[bnAt];
  if (isBatchNorm(bn) && !bn.usesBatchStats && isExactly(layers[bnAt - 1], Conv2d)) {
    const conv = layers[bnAt - 1] as Conv2d;
    return (conv.opts.groups ?? 1) === 1 ? { start: bnAt - 1, conv, bn, relu } : null;
  }
  const conv = layers[n - 1] as Conv2d;
  if (isExactly(conv, Conv2d) && !conv.bias && (conv.opts.groups ?? 1) === 1) return { start: n - 1, conv, bn: null, relu: false };
  return null;
}
