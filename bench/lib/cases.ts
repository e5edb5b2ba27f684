/**
 * The benchmark cases, engine-agnostic: shapes, phases, and FLOP / byte counts (so that GFLOP/s and
 * GB/s are comparable across engines). Bytes are the minimum an ideal kernel moves: each input read
 * once, each output written once, f32.
 */
import type { Phase } from './types.js';

export interface ConvSpec {
  kind: 'conv';
  kh: number;
  kw: number;
  cin: number;
  cout: number;
  h: number;
  w: number;
  stride: number;
  dilation: number;
  padding: 'same' | 'valid';
  /** Channel groups (default 1); `groups == cin == cout` is a depthwise convolution (weights [kh, kw, 1, cin]). */
  groups?: number;
}
export interface BatchNormSpec {
  kind: 'batchnorm';
  h: number;
  w: number;
  c: number;
}
export interface PoolSpec {
  kind: 'maxpool';
  h: number;
  w: number;
  c: number;
  size: number;
  stride: number;
}
export interface MatmulSpec {
  kind: 'matmul';
  m: number;
  n: number;
  k: number;
}
export interface ModelSpec {
  kind: 'model';
  model: 'inceptionv3' | 'densenet121';
  size: number;
  bam: boolean;
  numClasses: number;
}
export type Spec = ConvSpec | BatchNormSpec | PoolSpec | MatmulSpec | ModelSpec;

export interface Case {
  name: string;
  spec: Spec;
  batch: number;
  phases: Phase[];
}

const F = 4;

/** Output spatial size of a convolution or pooling window (TensorFlow's rule). */
export function outSize(n: number, k: number, stride: number, dilation: number, padding: 'same' | 'valid'): number {
  const keff = (k - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(n / stride) : Math.floor((n - keff) / stride) + 1;
}

/** FLOPs and bytes of one iteration of a case's phase (null where not meaningful, e.g. whole models). */
export function cost(c: Case, phase: Phase): { flops: number | null; bytes: number | null } {
  const N = c.batch;
  const s = c.spec;
  switch (s.kind) {
    case 'conv': {
      const ho = outSize(s.h, s.kh, s.stride, s.dilation, s.padding);
      const wo = outSize(s.w, s.kw, s.stride, s.dilation, s.padding);
      const cig = s.cin / (s.groups ?? 1); // input channels per group (1 when depthwise)
      const x = N * s.h * s.w * s.cin;
      const wt = s.kh * s.kw * cig * s.cout;
      const y = N * ho * wo * s.cout;
      const macs = N * ho * wo * s.cout * s.kh * s.kw * cig;
      // Backward: dX and dW are each a convolution with as many multiply-adds as the forward.
      if (phase === 'forward') return { flops: 2 * macs, bytes: F * (x + wt + y) };
      return { flops: 4 * macs, bytes: F * (y + x + wt + x + wt) };
    }
    case 'batchnorm': {
      const n = N * s.h * s.w * s.c;
      // Training forward: mean, variance, normalise+affine (~8 flops/element); backward ~10 flops/element.
      if (phase === 'forward') return { flops: 8 * n, bytes: F * (2 * n + 4 * s.c) };
      return { flops: 10 * n, bytes: F * (3 * n + 4 * s.c) };
    }
    case 'maxpool': {
      const ho = outSize(s.h, s.size, s.stride, 1, 'valid');
      const wo = outSize(s.w, s.size, s.stride, 1, 'valid');
      const x = N * s.h * s.w * s.c;
      const y = N * ho * wo * s.c;
      const cmp = y * s.size * s.size;
      if (phase === 'forward') return { flops: cmp, bytes: F * (x + y) };
      return { flops: cmp, bytes: F * (y + x + x) };
    }
    case 'matmul': {
      const mnk = s.m * s.n * s.k;
      const a = s.m * s.k,
        b = s.k * s.n,
        cc = s.m * s.n;
      if (phase === 'forward') return { flops: 2 * mnk, bytes: F * (a + b + cc) };
      return { flops: 4 * mnk, bytes: F * (cc + a + b + a + b) };
    }
    case 'model':
      return { flops: null, bytes: null };
  }
}

function conv(
  name: string,
  kh: number,
  kw: number,
  cin: number,
  cout: number,
  hw: number,
  stride: number,
  dilation: number,
  padding: 'same' | 'valid',
): Omit<Case, 'batch'> {
  return {
    name,
    spec: { kind: 'conv', kh, kw, cin, cout, h: hw, w: hw, stride, dilation, padding },
    phases: ['forward', 'backward'],
  };
}

/** A depthwise convolution (channel multiplier 1, 'same'), as EfficientNet's MBConv blocks run them. */
function dwconv(k: number, c: number, hw: number, stride: number): Omit<Case, 'batch'> {
  const name = `dwconv${k}x${k}${stride > 1 ? `s${stride}` : ''}-${c}-${hw}`;
  const base = conv(name, k, k, c, c, hw, stride, 1, 'same');
  return { ...base, spec: { ...(base.spec as ConvSpec), groups: c } };
}

/**
 * EfficientNet's depthwise convolutions (B1 at 240 px: 120x120 in the first stage, 8x8 in the last),
 * at their 3x3 and 5x5 kernels, strides 1 and 2 (TensorFlow's 'same': asymmetric on even sizes).
 */
export function depthwiseCases(batch: number): Case[] {
  return [
    dwconv(3, 32, 120, 1),
    dwconv(3, 96, 120, 2),
    dwconv(5, 144, 60, 2),
    dwconv(3, 480, 15, 1),
    dwconv(5, 1152, 8, 1),
  ].map((c) => ({ ...c, batch }));
}

/** The convolution table (InceptionV3 / BAM shapes) plus batch norm, pooling and matmul. */
export function kernelCases(batch: number): Case[] {
  const base: Omit<Case, 'batch'>[] = [
    conv('conv3x3-32-64-35', 3, 3, 32, 64, 35, 1, 1, 'same'),
    conv('conv1x7-128-128-17', 1, 7, 128, 128, 17, 1, 1, 'same'),
    conv('conv1x1-256-64-35', 1, 1, 256, 64, 35, 1, 1, 'valid'),
    conv('conv3x3s2-64-96-35', 3, 3, 64, 96, 35, 2, 1, 'valid'),
    conv('conv3x3d4-16-16-17', 3, 3, 16, 16, 17, 1, 4, 'same'),
    {
      name: 'batchnorm-train-256-35',
      spec: { kind: 'batchnorm', h: 35, w: 35, c: 256 },
      phases: ['forward', 'backward'],
    },
    {
      name: 'maxpool3x3s2-192-35',
      spec: { kind: 'maxpool', h: 35, w: 35, c: 192, size: 3, stride: 2 },
      phases: ['forward', 'backward'],
    },
  ];
  return base.map((c) => ({ ...c, batch }));
}

export function matmulCase(n = 1024): Case {
  return { name: `matmul-${n}`, spec: { kind: 'matmul', m: n, n, k: n }, batch: 1, phases: ['forward', 'backward'] };
}

/**
 * Whole models: reduced input sizes at batch 2 everywhere, and on a real GPU also the sizes they
 * are trained at (InceptionV3 299x299, DenseNet121 224x224) at batch 32, the reference study's.
 */
export function modelCases(quick: boolean, realGpu = false): Case[] {
  const mk = (model: ModelSpec['model'], size: number, bam: boolean, batch = 2): Case => ({
    name: `${model}${bam ? '-bam' : ''}-${size}`,
    spec: { kind: 'model', model, size, bam, numClasses: 2 },
    batch,
    phases: ['inference', 'train-step'],
  });
  if (quick) return [{ ...mk('inceptionv3', 75, false), phases: ['train-step'] }];
  const full = realGpu
    ? [
        mk('inceptionv3', 299, false, 32),
        mk('inceptionv3', 299, true, 32),
        mk('densenet121', 224, false, 32),
        mk('densenet121', 224, true, 32),
      ]
    : [];
  // The full-size rows first: on a GPU they are the ones that matter, and a run cut short keeps them.
  return [
    ...full,
    mk('inceptionv3', 75, false),
    mk('inceptionv3', 75, true),
    mk('inceptionv3', 139, false),
    mk('inceptionv3', 139, true),
    mk('densenet121', 64, false),
    mk('densenet121', 64, true),
    mk('densenet121', 96, false),
    mk('densenet121', 96, true),
  ];
}

/** Every case the suite runs for the given options. */
export function allCases(o: { quick: boolean; realGpu: boolean; filter?: string[]; batches?: number[] }): Case[] {
  const batches = o.batches ?? (o.realGpu ? [2, 32] : [2]);
  const kernels = batches.flatMap((b) => [...kernelCases(b), ...depthwiseCases(b)]);
  let cases: Case[] = o.quick
    ? [
        matmulCase(512),
        ...kernels.filter((c) =>
          ['conv3x3-32-64-35', 'conv1x1-256-64-35', 'batchnorm-train-256-35', 'maxpool3x3s2-192-35'].includes(c.name),
        ),
        ...modelCases(true),
      ]
    : [matmulCase(1024), ...kernels, ...modelCases(false, o.realGpu)];
  if (o.filter?.length) cases = cases.filter((c) => o.filter!.some((f) => c.name.includes(f)));
  return cases;
}
