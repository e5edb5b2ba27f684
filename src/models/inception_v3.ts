/**
 * InceptionV3 exactly as keras.applications.inception_v3 builds it (Szegedy et al. 2016), layer for
 * layer and in the same order, so Keras's automatic names (`conv2d`, `conv2d_1`, ...,
 * `batch_normalization_93`, `mixed0`..`mixed10`) and weights line up:
 * - conv2d_bn = Conv2D(no bias, padding 'same' unless stated) -> BatchNormalization(scale=False,
 *   epsilon 1e-3, momentum 0.99) -> ReLU;
 * - every stride-2 op is 'valid'; branch average pools are 3x3 / 1 'same' with the padded cells left
 *   out of the divisor (TensorFlow's rule);
 * - factorised 1x7 / 7x1 (17x17 grid) and 1x3 / 3x1 (8x8 grid) branches.
 * Head (include_top=False then ours): GlobalAveragePooling2D -> Dropout (optional) -> Dense(numClasses).
 * With 2 classes: 21,806,882 parameters, 21,772,450 trainable.
 *
 * BAM positions are top-level layer names: `activation_4` (alias `stem`: the 192-channel stem conv
 * output, before its max pool) and `mixed0`..`mixed10`; default `activation_4`, `mixed2`, `mixed7`.
 * Input: x / 127.5 - 1, 75 x 75 at least.
 */
import type { Module } from '../layers/module.js';
import { Conv2d } from '../layers/conv.js';
import { BatchNorm2d } from '../layers/norm.js';
import { AvgPool2d, MaxPool2d } from '../layers/basic.js';
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

/**
 * A chain's steps: Keras's conv2d_bn as `'<filters> <kh>x<kw>'` ('same' padding; then ` /2` for stride 2 and
 * ` valid` for 'valid' padding), 'avgpool' (3x3 / 1 'same') or 'maxpool' (3x3 / 2).
 */
type Steps = string[];

/** mixed0..2: 35 x 35. */
const block35 = (pool: number): Record<string, Steps> => ({
  branch1x1: ['64 1x1'],
  branch5x5: ['48 1x1', '64 5x5'],
  branch3x3dbl: ['64 1x1', '96 3x3', '96 3x3'],
  branch_pool: ['avgpool', `${pool} 1x1`],
});
/** mixed4..7: 17 x 17 with factorised 7x7 convolutions. */
const block17 = (f: number): Record<string, Steps> => ({
  branch1x1: ['192 1x1'],
  branch7x7: [`${f} 1x1`, `${f} 1x7`, '192 7x1'],
  branch7x7dbl: [`${f} 1x1`, `${f} 7x1`, `${f} 1x7`, `${f} 7x1`, '192 1x7'],
  branch_pool: ['avgpool', '192 1x1'],
});
/** mixed0..mixed8 (mixed3: reduction to 17 x 17; mixed8: to 8 x 8). */
const MIXED: Record<string, Steps>[] = [
  block35(32),
  block35(64),
  block35(64),
  {
    branch3x3: ['384 3x3 /2 valid'],
    branch3x3dbl: ['64 1x1', '96 3x3', '96 3x3 /2 valid'],
    branch_pool: ['maxpool'],
  },
  block17(128),
  block17(160),
  block17(160),
  block17(192),
  {
    branch3x3: ['192 1x1', '320 3x3 /2 valid'],
    branch7x7x3: ['192 1x1', '192 1x7', '192 7x1', '192 3x3 /2 valid'],
    branch_pool: ['maxpool'],
  },
];
const STEM = ['32 3x3 /2 valid', '32 3x3 valid', '64 3x3', 'maxpool', '80 1x1 valid', '192 3x3 valid', 'maxpool'];

function backbone({ widthMultiplier, inputChannels }: ModelConfig): Module[] {
  const F = (n: number) => Math.max(1, Math.round(n * widthMultiplier));
  /** conv2d_bn (Conv2D -> BN(scale=False) -> ReLU) and pools in sequence, with automatic names. */
  const chain = (cin: number, steps: Steps): { layers: Module[]; out: number } => {
    const layers: Module[] = [];
    let c = cin;
    for (const s of steps) {
      if (s === 'avgpool') layers.push(new AvgPool2d({ poolSize: 3, strides: 1, padding: 'same' }));
      else if (s === 'maxpool') layers.push(new MaxPool2d({ poolSize: 3, strides: 2 }));
      else {
        const [, filters, kh, kw, stride2, valid] = /^(\d+) (\d)x(\d)( \/2)?( valid)?$/.exec(s)!;
        const padding = valid ? 'valid' : 'same';
        const conv = { inChannels: c, filters: F(+filters), kernelSize: [+kh, +kw] as const, strides: stride2 ? 2 : 1 };
        c = conv.filters;
        layers.push(
          new Conv2d({ ...conv, padding, useBias: false }),
          new BatchNorm2d({ channels: c, scale: false }),
          new ReLU(),
        );
      }
    }
    return { layers, out: c };
  };
  const branch = (name: string, cin: number, steps: Steps): Branch => {
    const { layers, out } = chain(cin, steps);
    return { m: new Sequential(layers, { name }), out };
  };

  const stem = chain(inputChannels, STEM);
  const layers: Module[] = [...stem.layers];
  let c = stem.out;
  const push = (b: Branch) => {
    layers.push(b.m);
    c = b.out;
  };
  MIXED.forEach((parts, i) => {
    const branches = Object.entries(parts).map(([k, s]) => branch(`mixed${i}/${k}`, c, s));
    push(concatBranches(`mixed${i}`, branches));
  });
  // mixed9..10: 8 x 8 with split 1x3 / 3x1 branches.
  for (const i of [9, 10]) {
    const n = `mixed${i}`;
    /** `steps`, then `${name}_1` (1x3) | `${name}_2` (3x1) on its output, concatenated as `concat`. */
    const forked = (name: string, steps: Steps, concat?: string): Branch => {
      const head = chain(c, steps);
      const split = concatBranches(concat, [
        branch(`${name}_1`, head.out, ['384 1x3']),
        branch(`${name}_2`, head.out, ['384 3x1']),
      ]);
      return { m: new Sequential([...head.layers, split.m], { name }), out: split.out };
    };
    push(
      concatBranches(n, [
        branch(`${n}/branch1x1`, c, ['320 1x1']),
        forked(`${n}/branch3x3`, ['384 1x1'], `mixed9_${i - 9}`),
        forked(`${n}/branch3x3dbl`, ['448 1x1', '384 3x3']),
        branch(`${n}/branch_pool`, c, ['avgpool', '192 1x1']),
      ]),
    );
  }
  return layers;
}

/** Keras's InceptionV3 backbone with a GlobalAveragePooling + (Dropout) + Dense(numClasses) head, optional BAM. */
export function inceptionV3(opts: ModelOptions): Model {
  return buildClassifier('inceptionV3', opts, backbone, { stem: 'activation_4' });
}
