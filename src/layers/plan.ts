/**
 * Plans: a model's forward pass for one input shape compiled once into a list of launches. With `fuse` (default)
 * layers that one launch runs together match a rule of {@link FUSION_RULES}; without, each layer runs its forward.
 * Modes: `infer` (default) applies every rule (src/kernels/fused.ts; moving-statistics batch norms folded into
 * kept affine tables), runs without autograd and holds for one `model.version`; `train` applies only the
 * `differentiable` rules, autograd records its run (equal to the layers' forward) and it holds while the model's
 * structure does. Only the library's own classes fuse (a subclass may override forward).
 */
import { keep, noGrad, tidy, Tensor, type Shape } from '../tensor.js';
import { conv2d, isPlainMatmul, resolveConvGeometry, type Conv2dOptions } from '../kernels/conv2d.js';
import { maxPool2d } from '../kernels/pool.js';
import { batchNorm, batchNormAffineTable } from '../kernels/batchnorm.js';
import { concat } from '../kernels/concat.js';
import { bamCombine } from '../kernels/bam.js';
import { fused, type AffineMap, type ChannelSlice } from '../kernels/fused.js';
import type { EpilogueActivation } from '../kernels/gemm.js';
import type { Pad2d } from '../kernels/layout.js';
import type { Module } from './module.js';
import { Conv2d } from './conv.js';
import { BatchNorm, BatchNorm2d, bnParams } from './norm.js';
import { AvgPool2d, Identity, MaxPool2d, ZeroPad2d } from './basic.js';
import { ReLU, Sigmoid, Swish } from './activation.js';
import { Concat, Sequential } from './containers.js';
import { BAM } from './bam.js';

/** One launch over `layers` (rule `layer`: one layer's forward); it `stores` into `into` where it can. */
type Step = {
  rule: string;
  layers: Module[];
  out: number[];
  stores: boolean;
  run: (x: Tensor, into?: ChannelSlice) => Tensor;
  branches?: Step[][];
};

/** What a rule emits at a position of a chain: the step and how many layers it covers (`out`: from their shapes). */
type Emit = Omit<Step, 'rule' | 'layers' | 'out'> & { used: number; out?: number[] };

/** What a plan is for: inference (no autograd, every rule) or a training forward (autograd, differentiable rules). */
export type PlanMode = 'infer' | 'train';

/** Compile-time state: the mode, the kept affine tables. */
type Ctx = { fuse: boolean; mode: PlanMode; tables: Map<string, Tensor> };

/**
 * A fusion rule: the layer pattern it matches at `layers[i]` (input shape `shape`), the launch it emits,
 * why; `differentiable`: its launches are differentiable ops (a rule over containers: its own, the
 * branches compiled in the plan's mode), so training plans apply it too.
 */
export interface FusionRule {
  name: string;
  pattern: string;
  why: string;
  differentiable: boolean;
  match: (layers: readonly Module[], i: number, shape: number[], ctx: Ctx) => Emit | null;
}

const isExactly = <M extends Module>(m: Module | undefined, cls: abstract new (...args: never[]) => M): m is M =>
  !!m && Object.getPrototypeOf(m) === cls.prototype;
const isBN = (m: Module | undefined): m is BatchNorm => isExactly(m, BatchNorm) || isExactly(m, BatchNorm2d);
const isMovingBN = (m: Module | undefined): m is BatchNorm => isBN(m) && !m.usesBatchStats;
const dense = (c: Module | undefined): c is Conv2d => isExactly(c, Conv2d) && (c.opts.groups ?? 1) === 1;

/** The activation layers that a GEMM epilogue applies after a batch norm, with its activation (kernels/gemm.ts). */
const EPILOGUE_ACTIVATION_LAYERS: [abstract new (...args: never[]) => Module, EpilogueActivation][] = [
  [ReLU, 'relu'],
  [Sigmoid, 'sigmoid'],
  [Swish, 'swish'],
];
/** The epilogue activation that layer `m` computes, if it is one of {@link EPILOGUE_ACTIVATION_LAYERS}. */
const epilogueActivation = (m: Module | undefined): EpilogueActivation | null =>
  EPILOGUE_ACTIVATION_LAYERS.find(([cls]) => isExactly(m, cls))?.[1] ?? null;

/** The kept [2, C] affine table of a moving-statistics batch norm (a preceding bias folded in), and an activation. */
function table(ctx: Ctx, bn: BatchNorm, bias: Tensor | null, activation: EpilogueActivation): AffineMap {
  const key = `${bn.name}/${bias ? 'bias' : ''}`;
  let t = ctx.tables.get(key);
  if (!t) ctx.tables.set(key, (t = keep(noGrad(() => batchNormAffineTable(bnParams(bn), bias)))));
  return { table: t, activation };
}
const reluOr = (relu: boolean): EpilogueActivation => (relu ? 'relu' : 'linear');

/** A zero padding plus a convolution's own ('valid' or explicit; null for 'same'), per side. */
function addPadding(outer: Pad2d, inner: Conv2dOptions['padding']): Pad2d | null {
  const p = !inner || inner === 'valid' ? [0, 0, 0, 0] : inner;
  return p === 'same' ? null : [outer[0] + p[0], outer[1] + p[1], outer[2] + p[2], outer[3] + p[3]];
}

/** [ZeroPad2d ->] dense Conv2d [-> BatchNorm [-> activation]] at layers[i], the padding merged into its options. */
function convAt(layers: readonly Module[], i: number) {
  const pad = layers[i];
  const padded = isExactly(pad, ZeroPad2d);
  const conv = layers[i + (padded ? 1 : 0)];
  if (!dense(conv)) return null;
  const opts = conv.convOpts();
  const padding = padded ? addPadding(pad.padding, opts.padding) : opts.padding;
  if (!padding) return null;
  opts.padding = padding;
  const at = i + (padded ? 2 : 1);
  const bn = isMovingBN(layers[at]) ? layers[at] : null;
  const act = bn ? epilogueActivation(layers[at + 1]) : null;
  return { conv, opts, padded, bn, act: act ?? 'linear', used: at - i + (bn ? 1 : 0) + (act ? 1 : 0) };
}

/** BatchNorm [-> ReLU] -> 1x1 Conv2d at layers[i] on `shape` (channels read from 0 of a wider input with `wide`). */
function preActivated(layers: readonly Module[], i: number, shape: number[], wide = false) {
  const bn = layers[i];
  if (shape.length !== 4 || !isMovingBN(bn)) return null;
  const relu = isExactly(layers[i + 1], ReLU);
  const at = i + (relu ? 2 : 1);
  const conv = layers[at];
  if (!dense(conv) || (!wide && shape[3] !== bn.channels)) return null;
  try {
    return isPlainMatmul(resolveConvGeometry([...shape.slice(0, 3), bn.channels], conv.kernel.shape, conv.convOpts()))
      ? { bn, relu, conv, at }
      : null;
  } catch {
    return null; // shapes that do not fit: the layers run alone and say what is wrong
  }
}

const outOf = (layers: readonly Module[], shape: number[]): number[] =>
  layers.reduce<number[]>((s, l) => l.outputShape(s), shape);

/**
 * The fusion rules, tried in order at each position of a chain (first match wins; no match: the layer
 * alone, rule `layer`); training plans skip those not `differentiable`. Batch norms fold into tables
 * only with their moving statistics (eval mode, or frozen).
 */
export const FUSION_RULES: FusionRule[] = [
  {
    name: 'dense-block',
    differentiable: false,
    pattern: 'Concat[Identity, Sequential[BatchNorm, ReLU?, ..., Conv2d(no bias)]] x n',
    why:
      "a run of DenseNet layers builds the block's concatenation in one buffer: each layer reads the " +
      'channels so far, writes its new ones; no copy per layer',
    match: denseBlock,
  },
  {
    name: 'concat-in-place',
    differentiable: false,
    pattern: 'Concat (4-D)',
    why:
      'the branches store into their channel range of one buffer (fused convolutions in their epilogue), ' +
      'instead of being copied into it',
    match: (layers, i, shape, ctx) => {
      const c = layers[i];
      return isExactly(c, Concat) && shape.length === 4 ? concatInPlace(c, shape, ctx) : null;
    },
  },
  {
    name: 'relu-pad-maxpool',
    pattern: '(after ReLU) ZeroPad2d -> MaxPool2d',
    why:
      'the pooling pads: a padded zero never beats a window of ReLU outputs (>= 0), so no padded copy (the ' +
      'same gradients: a tie at 0 gets none through the ReLU)',
    differentiable: true,
    match: (layers, i, shape) => {
      const [pad, pool] = [layers[i], layers[i + 1]];
      if (!isExactly(layers[i - 1], ReLU) || !isExactly(pad, ZeroPad2d) || !isExactly(pool, MaxPool2d)) return null;
      if (shape.length !== 4 || pool.padding === 'same' || pad.padding.some((v) => v >= pool.poolSize)) return null;
      const padding = pad.padding;
      return {
        used: 2,
        stores: false,
        run: (x) => maxPool2d(x, { ...pool.window, padding }),
      };
    },
  },
  {
    name: 'conv-bn-relu',
    differentiable: false,
    pattern: 'ZeroPad2d? -> Conv2d -> BatchNorm -> (ReLU | Sigmoid)?',
    why:
      "the batch norm (with the convolution's bias) is an affine map in the convolution's store, and so is " +
      'the activation; the padding goes into the convolution',
    match: (layers, i, shape, ctx) => {
      const c = convAt(layers, i);
      if (!c?.bn) return null;
      const epilogue = table(ctx, c.bn, c.conv.bias, c.act);
      return { used: c.used, stores: true, run: (x, into) => fused(x, c.conv.kernel, { ...c.opts, epilogue, into }) };
    },
  },
  {
    name: 'conv-store',
    pattern: 'ZeroPad2d? -> Conv2d(no bias)',
    why:
      'the convolution pads (its loads skip the border) instead of a padded copy, and can store into a ' +
      'concatenation',
    differentiable: false,
    match: (layers, i) => {
      const c = convAt(layers, i);
      if (!c || c.bn || c.conv.bias) return null;
      return { used: c.used, stores: true, run: (x, into) => fused(x, c.conv.kernel, { ...c.opts, into }) };
    },
  },
  {
    name: 'pad-conv',
    pattern: "ZeroPad2d -> Conv2d (padding not 'same')",
    why: 'the convolution pads (its loads skip the border) instead of a padded copy',
    differentiable: true,
    match: (layers, i) => {
      const [pad, conv] = [layers[i], layers[i + 1]];
      if (!isExactly(pad, ZeroPad2d) || !isExactly(conv, Conv2d)) return null;
      const opts = conv.convOpts();
      const padding = addPadding(pad.padding, opts.padding);
      return padding
        ? { used: 2, stores: false, run: (x) => conv2d(x, conv.kernel, conv.bias, { ...opts, padding }) }
        : null;
    },
  },
  {
    name: 'bn-conv-avgpool',
    differentiable: false,
    pattern: 'BatchNorm -> ReLU? -> 1x1 Conv2d(no bias) -> AvgPool2d',
    why:
      "DenseNet's transition: the pooling reads through the batch norm and ReLU, then the convolution runs " +
      'on a quarter of the pixels (a 1x1 convolution and an average commute)',
    match: (layers, i, shape, ctx) => {
      const p = preActivated(layers, i, shape);
      const pool = layers[(p?.at ?? 0) + 1];
      if (!p || p.conv.bias || !isExactly(pool, AvgPool2d)) return null;
      const prologue = table(ctx, p.bn, null, reluOr(p.relu));
      return {
        used: p.at + 2 - i,
        stores: false,
        run: (x) => fused(fused(x, null, { prologue, pool: pool.window }), p.conv.kernel, p.conv.convOpts()),
      };
    },
  },
  {
    name: 'bn-conv-bn-relu',
    differentiable: false,
    pattern: 'BatchNorm -> ReLU? -> 1x1 Conv2d [-> BatchNorm -> (ReLU | Sigmoid)?]',
    why:
      "pre-activation (DenseNet): the first batch norm and ReLU map the GEMM's input as it is read, the " +
      'second its output as it is stored: one pass for up to five layers',
    match: preActivatedStep,
  },
  {
    name: 'bn-relu',
    pattern: 'BatchNorm -> ReLU?',
    why: 'the inference batch norm is one multiply-add per element from its kept table, the ReLU in the same pass',
    differentiable: false,
    match: (layers, i, shape, ctx) => {
      const bn = layers[i];
      if (!isMovingBN(bn)) return null;
      const relu = isExactly(layers[i + 1], ReLU);
      const prologue = table(ctx, bn, null, reluOr(relu));
      return { used: relu ? 2 : 1, stores: false, run: (x) => fused(x, null, { prologue }) };
    },
  },
  {
    name: 'bn-relu-op',
    pattern: 'BatchNorm -> ReLU',
    why:
      "the batch norm op's relu flag (batch or moving statistics, as the layer would): one pass, and its " +
      'backward masks the gradient',
    differentiable: true,
    match: (layers, i) => {
      const bn = layers[i];
      if (!isBN(bn) || !isExactly(layers[i + 1], ReLU)) return null;
      const run = (x: Tensor): Tensor => {
        // BatchNorm.forward's own steps (its shape check was the plan's): the moving statistics move.
        const training = bn.usesBatchStats;
        if (training) bn.touch();
        return batchNorm(x, { ...bnParams(bn), training, relu: true });
      };
      return { used: 2, stores: false, run };
    },
  },
  {
    name: 'concat',
    pattern: 'Concat',
    why: "the branches' layers are compiled too (in the plan's mode), then concatenated",
    differentiable: true,
    match: (layers, i, shape, ctx) => {
      const c = layers[i];
      if (!isExactly(c, Concat)) return null;
      const branches = c.branches.map((b) => chain([b], shape, ctx).steps);
      const run = (x: Tensor): Tensor =>
        concat(
          branches.map((b) => runSteps(b, x, ctx)),
          shape.length - 1,
        );
      return { used: 1, stores: false, run, branches };
    },
  },
  {
    name: 'bam',
    pattern: 'BAM',
    why:
      "its gates' layers are compiled too (in the plan's mode; the spatial gate's convolution, batch norm " +
      'and ReLU fuse), then combined',
    differentiable: true,
    match: (layers, i, shape, ctx) => {
      const bam = layers[i];
      if (!isExactly(bam, BAM)) return null;
      const [ch, sp] = [chain([bam.channelGate], shape, ctx).steps, chain([bam.spatialGate], shape, ctx).steps];
      return {
        used: 1,
        stores: false,
        run: (x) => bamCombine(x, runSteps(ch, x, ctx), runSteps(sp, x, ctx), bam.options.combine),
        branches: [ch, sp],
      };
    },
  },
];

/** The pre-activated 1x1 convolution as one GEMM; `wide`: x holds more channels than the batch norm's (read from 0). */
function preActivatedStep(layers: readonly Module[], i: number, shape: number[], ctx: Ctx, wide = false): Emit | null {
  const p = preActivated(layers, i, shape, wide);
  if (!p) return null;
  const post = layers[p.at + 1];
  const bn2 = isMovingBN(post) ? post : null;
  const act2 = bn2 ? epilogueActivation(layers[p.at + 2]) : null;
  if (!bn2 && p.conv.bias) return null; // the bias would need an epilogue of its own
  const prologue = table(ctx, p.bn, null, reluOr(p.relu));
  const epilogue = bn2 ? table(ctx, bn2, p.conv.bias, act2 ?? 'linear') : undefined;
  const used = p.at + 1 - i + (bn2 ? (act2 ? 2 : 1) : 0);
  const opts = { ...p.conv.convOpts(), prologue, epilogue, from: wide ? { offset: 0 } : undefined };
  return { used, stores: true, run: (x, into) => fused(x, p.conv.kernel, { ...opts, into }) };
}

/** A DenseNet layer: Concat([Identity, Sequential [BatchNorm, ..., dense Conv2d without bias]]). */
function denseLayer(m: Module): Sequential | null {
  if (!isExactly(m, Concat)) return null;
  const [skip, f, ...more] = (m as Concat).branches;
  if (more.length || !isExactly(skip, Identity) || !isExactly(f, Sequential)) return null;
  const last = f.layers[f.layers.length - 1];
  return f.layers.length > 1 && isMovingBN(f.layers[0]) && dense(last) && !last.bias ? f : null;
}

function denseBlock(layers: readonly Module[], i: number, shape: number[], ctx: Ctx): Emit | null {
  if (shape.length !== 4) return null;
  const [N, H, W, C0] = shape;
  const plan: { head: Step; rest: Step[]; conv: Conv2d; inC: number }[] = [];
  let C = C0;
  for (let j = i; j < layers.length; j++) {
    const f = denseLayer(layers[j]);
    let o: number[] = [];
    try {
      if (f) o = f.outputShape([N, H, W, C]);
    } catch {} // eslint-disable-line no-empty -- shapes that do not fit end the block
    if (!f || o.length !== 4 || o[0] !== N || o[1] !== H || o[2] !== W) break;
    const body = f.layers.slice(0, -1);
    // The batch norm (and ReLU) ride on a 1x1 convolution's reads of the block's buffer where one
    // follows, else a map of its first channels; the last convolution stores into the buffer.
    const pre = preActivatedStep(body, 0, [N, H, W, C], ctx, true);
    const relu = isExactly(body[1], ReLU);
    const prologue = table(ctx, body[0] as BatchNorm, null, reluOr(relu));
    const covered = body.slice(0, pre?.used ?? (relu ? 2 : 1));
    const out = outOf(covered, [N, H, W, C]);
    const run = pre?.run ?? ((x: Tensor) => fused(x, null, { prologue, from: { offset: 0 } }));
    const head: Step = { rule: pre ? 'bn-conv-bn-relu' : 'bn-relu', layers: covered, out, stores: !!pre, run };
    const conv = f.layers[f.layers.length - 1] as Conv2d;
    plan.push({ head, rest: chain(body.slice(covered.length), out, ctx).steps, conv, inC: C });
    C += o[3];
  }
  if (!plan.length) return null;
  const branches = plan.map((p) => [p.head, ...p.rest]);
  const run = (x: Tensor): Tensor => {
    const y = Tensor.empty([N, H, W, C]);
    fused(x, null, { into: { tensor: y, offset: 0 } });
    for (const { head, rest, conv, inC } of plan) {
      tidy(() => {
        const z = runSteps(rest, head.run(y), ctx);
        fused(z, conv.kernel, { ...conv.convOpts(), into: { tensor: y, offset: inC } });
      });
    }
    return y;
  };
  return { used: plan.length, out: [N, H, W, C], stores: false, run, branches };
}

function concatInPlace(concat: Concat, shape: number[], ctx: Ctx): Emit {
  const o = concat.outputShape(shape);
  let offset = 0;
  const branches = concat.branches.map((b) => {
    const c = chain(isExactly(b, Sequential) ? b.layers : [b], shape, ctx);
    const at = offset;
    offset += c.out[3];
    return { at, steps: c.steps };
  });
  const run = (x: Tensor, into: ChannelSlice = { tensor: Tensor.empty(o), offset: 0 }): Tensor => {
    for (const b of branches) runSteps(b.steps, x, ctx, { tensor: into.tensor, offset: into.offset + b.at });
    return into.tensor;
  };
  return { used: 1, out: o, stores: true, run, branches: branches.map((b) => b.steps) };
}

/** Compile a chain of layers (nested Sequentials flattened) on an input shape. */
function chain(input: readonly Module[], shape: number[], ctx: Ctx): { steps: Step[]; out: number[] } {
  const layers: Module[] = [];
  const flatten = (ms: readonly Module[]): void =>
    ms.forEach((m) => (isExactly(m, Sequential) ? flatten(m.layers) : layers.push(m)));
  flatten(input);
  const steps: Step[] = [];
  let s = [...shape];
  for (let i = 0; i < layers.length;) {
    let step: Step | null = null;
    for (const r of ctx.fuse ? FUSION_RULES : []) {
      if (ctx.mode === 'train' && !r.differentiable) continue;
      const e = r.match(layers, i, s, ctx);
      if (e) {
        const covered = layers.slice(i, i + e.used);
        step = { ...e, rule: r.name, layers: covered, out: e.out ?? outOf(covered, s) };
        break;
      }
    }
    const m = layers[i];
    step ??= { rule: 'layer', layers: [m], out: m.outputShape(s), stores: false, run: (x) => m.forward(x) };
    steps.push(step);
    s = step.out;
    i += step.layers.length;
  }
  return { steps, out: s };
}

/**
 * Run steps in order. Inference: each in its own tidy, the previous output freed once the next exists; with
 * `into`, the output goes into that slice (stored by the last step where it can, else copied). Training:
 * one after the other, autograd keeping what the backward pass needs.
 */
function runSteps(steps: readonly Step[], x: Tensor, ctx: Ctx, into?: ChannelSlice): Tensor {
  if (ctx.mode === 'train') return steps.reduce((y, s) => s.run(y), x);
  let y = x;
  for (const [k, s] of steps.entries()) {
    const prev = y;
    const last = k === steps.length - 1;
    y = tidy(() => (last && into && s.stores ? s.run(prev, into) : s.run(prev)));
    if (prev !== x && prev !== y) prev.dispose(); // views of prev keep its storage alive
  }
  if (into && (!steps.length || !steps[steps.length - 1].stores)) {
    tidy(() => fused(y, null, { into }));
    if (y !== x) y.dispose();
    y = into.tensor;
  }
  return y;
}

/** Options of {@link compilePlan}: `fuse` (default true) applies the rules; `mode` (default `infer`). */
export type PlanOptions = { fuse?: boolean; mode?: PlanMode };

/**
 * A compiled plan: `run(x)`, `holds()` (`infer`: the model's {@link Module.version} has not moved; `train`: its
 * structure), `describe()` (the mode, then each step's rule and layers, branches indented), `counts()` (steps per
 * rule; `layer`: layers run alone), `dispose()` (frees the kept tables).
 */
export interface Plan {
  readonly mode: PlanMode;
  run(x: Tensor): Tensor;
  holds(): boolean;
  describe(): string;
  counts(): Record<string, number>;
  dispose(): void;
}

/** Compile `model`'s plan for inputs of `inputShape` (batch included); see the file comment. */
export function compilePlan(model: Module, inputShape: Shape, opts: PlanOptions = {}): Plan {
  const mode = opts.mode ?? 'infer';
  if (mode !== 'infer' && mode !== 'train')
    throw new Error(`ossify: compilePlan mode must be 'infer' or 'train', got ${String(mode)}`);
  const ctx: Ctx = { fuse: opts.fuse ?? true, mode, tables: new Map() };
  const version = model.version;
  // a training plan reads modes as it runs: only the structure counts
  const structure = mode === 'train' ? [...model.modules()] : [];
  const { steps } = chain(model instanceof Sequential ? model.layers : [model], [...inputShape], ctx);
  const all: [Step, number][] = [];
  const walk = (ss: Step[], depth: number): void =>
    ss.forEach((s) => (all.push([s, depth]), s.branches?.forEach((b) => walk(b, depth + 1))));
  walk(steps, 0);
  const sameStructure = (): boolean => {
    const now = [...model.modules()];
    return now.length === structure.length && now.every((m, k) => m === structure[k]);
  };
  return {
    mode,
    run: (x) => (mode === 'train' ? runSteps(steps, x, ctx) : noGrad(() => runSteps(steps, x, ctx))),
    holds: () => (mode === 'train' ? sameStructure() : model.version === version),
    describe: () =>
      [
        `${mode} plan, ${ctx.fuse ? 'fused' : 'unfused'}: ${all.length} steps`,
        ...all.map(([s, d]) => `${'  '.repeat(d)}${s.rule.padEnd(16)} ${s.layers.map((l) => l.name).join(' > ')}`),
      ].join('\n'),
    counts: () => all.reduce<Record<string, number>>((c, [s]) => ((c[s.rule] = (c[s.rule] ?? 0) + 1), c), {}),
    dispose: () => ctx.tables.forEach((t) => t.dispose()),
  };
}
