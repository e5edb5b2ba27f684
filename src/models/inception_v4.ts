/**
 * Inception-v4 (Szegedy et al. 2016) exactly as timm's `inception_v4` builds it (timm/models/inception_v4.py,
 * weights `inception_v4.tf_in1k`), with timm's module names so that its PyTorch weights import by name
 * (`features.0.conv`, `features.6.branch1.1.conv`, `features.19.branch2_3b.bn`):
 * - every conv unit is timm's ConvNormAct: Conv2d without bias -> BatchNorm2d (epsilon 1e-3, PyTorch's running
 *   statistics: Keras momentum 0.9, unbiased variance update) -> ReLU (`<unit>.conv`, `.bn`, `.act`);
 * - explicit symmetric PyTorch paddings (0 unless timm gives one), not TF 'same'; branch average pools are
 *   3x3 / 1 with padding 1 and `count_include_pad=False`; max pools 3x3 / 2 'valid';
 * - `features.0`-`2` stem, `3`-`5` Mixed3a/4a/5a, `6`-`9` Inception-A (35x35, 384), `10` Reduction-A,
 *   `11`-`17` Inception-B (17x17, 1024), `18` Reduction-B, `19`-`21` Inception-C (8x8, 1536).
 * Head: GlobalAveragePooling2D -> Dropout (optional) -> Dense(numClasses) named `last_linear` (timm's).
 * With 2 classes: 41,145,890 trainable parameters and 41,209,058 in all (the batch norms' 63,168 running
 * statistics, buffers in PyTorch, count as non-trainable here, as in Keras).
 *
 * BAM positions are top-level layer names; default `features.4`, `features.9`, `features.17` (the ends of
 * the stages before the last three downsamplings); timm's block names (`mixed_5a`, `inception_b3`, ...) alias them.
 * Input: x / 127.5 - 1, 299 x 299 by default; below 75 x 75 (the valid reductions' minimum; 32 px up) a
 * leading `input_pad` layer zero-pads it, centred, to 75 x 75 (0 is mid-grey after the scaling).
 */
import type { Module } from '../layers/module.js';
import { Conv2d } from '../layers/conv.js';
import { BatchNorm2d } from '../layers/norm.js';
import { AvgPool2d, MaxPool2d, ZeroPad2d } from '../layers/basic.js';
import { ReLU } from '../layers/activation.js';
import { Sequential } from '../layers/containers.js';
import {
  buildClassifier,
  concatBranches,
  type Branch,
  type Model,
  type ModelConfig,
  type ModelOptions,
} from './model.js';

/** The smallest input the architecture itself takes; smaller inputs are zero-padded to it. */
const INCEPTION_V4_NATIVE_MIN = 75;

/** timm's block names for the top-level layers, as BAM position aliases. */
const INCEPTION_V4_ALIASES: Record<string, string> = (() => {
  const a: Record<string, string> = { mixed_3a: 'features.3', mixed_4a: 'features.4', mixed_5a: 'features.5' };
  for (let i = 1; i <= 4; i++) a[`inception_a${i}`] = `features.${5 + i}`;
  a.reduction_a = a.mixed_6a = 'features.10';
  for (let i = 1; i <= 7; i++) a[`inception_b${i}`] = `features.${10 + i}`;
  a.reduction_b = a.mixed_7a = 'features.18';
  for (let i = 1; i <= 3; i++) a[`inception_c${i}`] = `features.${18 + i}`;
  return a;
})();

/** A branch's layers so far and their output channels. */
interface Chain {
  layers: Module[];
  out: number;
}
/**
 * A branch's spec: one conv unit (`'<filters> <kh>x<kw>'`, then ` /2` for stride 2 and ` pad` for PyTorch's
 * symmetric padding of half the kernel, otherwise none), 'maxpool' (3x3 / 2), or a list of units and 'avgpool'
 * (3x3 / 1, padding 1) named `.0`, `.1`, ... (an nn.Sequential).
 */
type Spec = string | string[];

/** Mixed3a (73x73, 160), Mixed4a (71x71, 192), Mixed5a (35x35, 384): `features.3`-`features.5`. */
const MIXED: Record<string, Spec>[] = [
  { maxpool: 'maxpool', conv: '96 3x3 /2' },
  { branch0: ['64 1x1', '96 3x3'], branch1: ['64 1x1', '64 1x7 pad', '64 7x1 pad', '96 3x3'] },
  { conv: '192 3x3 /2', maxpool: 'maxpool' },
];
const INCEPTION_A = {
  branch0: '96 1x1',
  branch1: ['64 1x1', '96 3x3 pad'],
  branch2: ['64 1x1', '96 3x3 pad', '96 3x3 pad'],
  branch3: ['avgpool', '96 1x1'],
};
/** Mixed6a: 17x17, 1024. */
const REDUCTION_A = { branch0: '384 3x3 /2', branch1: ['192 1x1', '224 3x3 pad', '256 3x3 /2'], branch2: 'maxpool' };
const INCEPTION_B = {
  branch0: '384 1x1',
  branch1: ['192 1x1', '224 1x7 pad', '256 7x1 pad'],
  branch2: ['192 1x1', '192 7x1 pad', '224 1x7 pad', '224 7x1 pad', '256 1x7 pad'],
  branch3: ['avgpool', '128 1x1'],
};
/** Mixed7a: 8x8, 1536. */
const REDUCTION_B = {
  branch0: ['192 1x1', '192 3x3 /2'],
  branch1: ['256 1x1', '256 1x7 pad', '320 7x1 pad', '320 3x3 /2'],
  branch2: 'maxpool',
};
/** `features.3`-`features.18`; the stem's units are `features.0`-`features.2`. */
const BLOCKS = [
  ...MIXED,
  ...Array<Record<string, Spec>>(4).fill(INCEPTION_A),
  REDUCTION_A,
  ...Array<Record<string, Spec>>(7).fill(INCEPTION_B),
  REDUCTION_B,
];
const STEM = ['32 3x3 /2', '32 3x3', '64 3x3 pad'];
/** timm's BatchNorm2d(eps=1e-3) with PyTorch's running statistics (momentum 0.1, unbiased variance). */
const TORCH_BN = { epsilon: 1e-3, momentum: 0.9, varianceUpdate: 'unbiased' } as const;

function backbone({ widthMultiplier, inputChannels, inputSize }: ModelConfig): Module[] {
  const F = (n: number) => Math.max(1, Math.round(n * widthMultiplier));
  /** timm's ConvNormAct named `name`: conv (no bias) -> BN (eps 1e-3) -> ReLU, flattened. */
  const unit = (name: string, cin: number, spec: string): Chain => {
    const [, filters, kh, kw, stride2, pad] = /^(\d+) (\d)x(\d)( \/2)?( pad)?$/.exec(spec)!;
    const [ph, pw] = pad ? [(+kh - 1) / 2, (+kw - 1) / 2] : [0, 0];
    const c = F(+filters);
    const geometry = { kernelSize: [+kh, +kw], strides: stride2 ? 2 : 1, padding: [ph, ph, pw, pw] } as const;
    const conv = new Conv2d({ name: `${name}.conv`, inChannels: cin, filters: c, ...geometry, useBias: false });
    const bn = new BatchNorm2d({ name: `${name}.bn`, channels: c, ...TORCH_BN });
    return { layers: [conv, bn, new ReLU({ name: `${name}.act` })], out: c };
  };
  /** Units and average pools named `${prefix}0`, `${prefix}1`, ... */
  const chain = (prefix: string, cin: number, specs: string[]): Chain => {
    let out = cin;
    const layers = specs.flatMap((s, i) => {
      if (s === 'avgpool') return [new AvgPool2d({ name: `${prefix}${i}`, poolSize: 3, strides: 1, padding: 'same' })];
      const u = unit(`${prefix}${i}`, out, s);
      out = u.out;
      return u.layers;
    });
    return { layers, out };
  };
  const branch = (name: string, cin: number, spec: Spec): Branch => {
    if (spec === 'maxpool') return { m: new MaxPool2d({ name, poolSize: 3, strides: 2 }), out: cin };
    const { layers, out } = typeof spec === 'string' ? unit(name, cin, spec) : chain(`${name}.`, cin, spec);
    return { m: new Sequential(layers, { name }), out };
  };

  const layers: Module[] = [];
  if (inputSize < INCEPTION_V4_NATIVE_MIN) {
    const d = INCEPTION_V4_NATIVE_MIN - inputSize;
    const [a, b] = [Math.floor(d / 2), Math.ceil(d / 2)];
    layers.push(new ZeroPad2d({ name: 'input_pad', padding: [a, b, a, b] }));
  }
  let c = inputChannels;
  const push = (p: Branch) => {
    layers.push(p.m);
    c = p.out;
  };
  // Stem: 299 -> 149 -> 147 -> 147.
  STEM.forEach((s, i) => push(branch(`features.${i}`, c, s)));
  BLOCKS.forEach((b, i) => {
    const n = `features.${i + 3}`;
    const branches = Object.entries(b).map(([k, s]) => branch(`${n}.${k}`, c, s));
    push(concatBranches(n, branches));
  });
  // 3x Inception-C: the 1x3 / 3x1 pairs (`..._1a`, `..._1b`; `..._3a`, `..._3b`) share their input.
  for (let i = 19; i <= 21; i++) {
    const n = `features.${i}`;
    /** Units `${n}.${b}_0`, `_1`, ..., then the pair `_<k>a` | `_<k>b` concatenated as `_<k>`. */
    const forked = (b: string, specs: string[]): Branch => {
      const head = chain(`${n}.${b}_`, c, specs);
      const k = `${n}.${b}_${specs.length}`;
      const pair = concatBranches(k, [
        branch(`${k}a`, head.out, '256 1x3 pad'),
        branch(`${k}b`, head.out, '256 3x1 pad'),
      ]);
      return { m: new Sequential([...head.layers, pair.m], { name: `${n}.${b}` }), out: pair.out };
    };
    push(
      concatBranches(n, [
        branch(`${n}.branch0`, c, '256 1x1'),
        forked('branch1', ['384 1x1']),
        forked('branch2', ['384 1x1', '448 3x1 pad', '512 1x3 pad']),
        branch(`${n}.branch3`, c, ['avgpool', '256 1x1']),
      ]),
    );
  }
  return layers;
}

/**
 * timm's Inception-v4 backbone with a GlobalAveragePooling + (Dropout) + Dense(numClasses) head named
 * `last_linear`, optional BAM (see the module notes for names, positions and input sizes).
 */
export function inceptionV4(opts: ModelOptions): Model {
  return buildClassifier('inceptionV4', opts, backbone, INCEPTION_V4_ALIASES);
}
