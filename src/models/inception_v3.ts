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
import { Module, buildScope } from '../layers/module.js';
import { Conv2d } from '../layers/conv.js';
import { BatchNorm2d } from '../layers/norm.js';
import { AvgPool2d, MaxPool2d, ReLU } from '../layers/basic.js';
import { Concat, Sequential } from '../layers/containers.js';
import { Model, resolveConfig, type ModelOptions } from './model.js';
import { MODEL_CATALOG } from './catalog.js';

/**
 * The default BAM positions of InceptionV3 (each at the end of a stage, just before a downsampling:
 * the stem, 35x35 and 17x17 stages).
 */
export const INCEPTION_V3_BAM_POSITIONS = ['activation_4', 'mixed2', 'mixed7'];

type Step =
  [filters: number, kh: number, kw: number, strides?: number, padding?: 'same' | 'valid'] | 'avgpool' | 'maxpool';

function backbone(w: number, inChannels: number): Module[] {
  const F = (n: number) => Math.max(1, Math.round(n * w));
  /** Keras's conv2d_bn: Conv2D -> BN(scale=False) -> ReLU, with automatic names. */
  const convBn = (
    cin: number,
    filters: number,
    kh: number,
    kw: number,
    strides = 1,
    padding: 'same' | 'valid' = 'same',
  ): Module[] => {
    const c = F(filters);
    return [
      new Conv2d({ inChannels: cin, filters: c, kernelSize: [kh, kw], strides, padding, useBias: false }),
      new BatchNorm2d({ channels: c, scale: false }),
      new ReLU(),
    ];
  };
  /** A chain of conv2d_bn and pools; returns its layers and output channels. */
  const chain = (cin: number, steps: Step[]): { layers: Module[]; out: number } => {
    const layers: Module[] = [];
    let c = cin;
    for (const s of steps) {
      if (s === 'avgpool') layers.push(new AvgPool2d({ poolSize: 3, strides: 1, padding: 'same' }));
      else if (s === 'maxpool') layers.push(new MaxPool2d({ poolSize: 3, strides: 2 }));
      else {
        layers.push(...convBn(c, ...s));
        c = F(s[0]);
      }
    }
    return { layers, out: c };
  };
  const branch = (name: string, cin: number, steps: Step[]) => {
    const { layers, out } = chain(cin, steps);
    return { m: new Sequential(layers, { name }), out };
  };
  /** A Concatenate of branches named `name`; returns it and its channels. */
  const mixed = (name: string, parts: { m: Module; out: number }[]) => ({
    m: new Concat(
      parts.map((p) => p.m),
      { name },
    ),
    out: parts.reduce((s, p) => s + p.out, 0),
  });

  const layers: Module[] = [];
  // Stem.
  const stem = chain(inChannels, [
    [32, 3, 3, 2, 'valid'],
    [32, 3, 3, 1, 'valid'],
    [64, 3, 3],
    'maxpool',
    [80, 1, 1, 1, 'valid'],
    [192, 3, 3, 1, 'valid'],
    'maxpool',
  ]);
  layers.push(...stem.layers);
  let c = stem.out;
  const push = (b: { m: Module; out: number }) => {
    layers.push(b.m);
    c = b.out;
  };

  // mixed0..2: 35 x 35.
  for (const [i, pool] of [
    [0, 32],
    [1, 64],
    [2, 64],
  ] as const) {
    const n = `mixed${i}`;
    push(
      mixed(n, [
        branch(`${n}/branch1x1`, c, [[64, 1, 1]]),
        branch(`${n}/branch5x5`, c, [
          [48, 1, 1],
          [64, 5, 5],
        ]),
        branch(`${n}/branch3x3dbl`, c, [
          [64, 1, 1],
          [96, 3, 3],
          [96, 3, 3],
        ]),
        branch(`${n}/branch_pool`, c, ['avgpool', [pool, 1, 1]]),
      ]),
    );
  }
  // mixed3: reduction to 17 x 17.
  push(
    mixed('mixed3', [
      branch('mixed3/branch3x3', c, [[384, 3, 3, 2, 'valid']]),
      branch('mixed3/branch3x3dbl', c, [
        [64, 1, 1],
        [96, 3, 3],
        [96, 3, 3, 2, 'valid'],
      ]),
      { m: new Sequential([new MaxPool2d({ poolSize: 3, strides: 2 })], { name: 'mixed3/branch_pool' }), out: c },
    ]),
  );
  // mixed4..7: 17 x 17 with factorised 7x7 convolutions.
  for (const [i, f] of [
    [4, 128],
    [5, 160],
    [6, 160],
    [7, 192],
  ] as const) {
    const n = `mixed${i}`;
    push(
      mixed(n, [
        branch(`${n}/branch1x1`, c, [[192, 1, 1]]),
        branch(`${n}/branch7x7`, c, [
          [f, 1, 1],
          [f, 1, 7],
          [192, 7, 1],
        ]),
        branch(`${n}/branch7x7dbl`, c, [
          [f, 1, 1],
          [f, 7, 1],
          [f, 1, 7],
          [f, 7, 1],
          [192, 1, 7],
        ]),
        branch(`${n}/branch_pool`, c, ['avgpool', [192, 1, 1]]),
      ]),
    );
  }
  // mixed8: reduction to 8 x 8.
  push(
    mixed('mixed8', [
      branch('mixed8/branch3x3', c, [
        [192, 1, 1],
        [320, 3, 3, 2, 'valid'],
      ]),
      branch('mixed8/branch7x7x3', c, [
        [192, 1, 1],
        [192, 1, 7],
        [192, 7, 1],
        [192, 3, 3, 2, 'valid'],
      ]),
      { m: new Sequential([new MaxPool2d({ poolSize: 3, strides: 2 })], { name: 'mixed8/branch_pool' }), out: c },
    ]),
  );
  // mixed9..10: 8 x 8 with split 1x3 / 3x1 branches.
  for (const i of [9, 10]) {
    const n = `mixed${i}`;
    const b1 = branch(`${n}/branch1x1`, c, [[320, 1, 1]]);
    const b3 = chain(c, [[384, 1, 1]]);
    const b3split = mixed(`mixed9_${i - 9}`, [
      branch(`${n}/branch3x3_1`, b3.out, [[384, 1, 3]]),
      branch(`${n}/branch3x3_2`, b3.out, [[384, 3, 1]]),
    ]);
    const b3d = chain(c, [
      [448, 1, 1],
      [384, 3, 3],
    ]);
    const d1 = branch(`${n}/branch3x3dbl_1`, b3d.out, [[384, 1, 3]]);
    const d2 = branch(`${n}/branch3x3dbl_2`, b3d.out, [[384, 3, 1]]);
    const dsplit = { m: new Concat([d1.m, d2.m]), out: d1.out + d2.out };
    const bp = branch(`${n}/branch_pool`, c, ['avgpool', [192, 1, 1]]);
    push(
      mixed(n, [
        b1,
        { m: new Sequential([...b3.layers, b3split.m], { name: `${n}/branch3x3` }), out: b3split.out },
        { m: new Sequential([...b3d.layers, dsplit.m], { name: `${n}/branch3x3dbl` }), out: dsplit.out },
        bp,
      ]),
    );
  }
  return layers;
}

/** Keras's InceptionV3 backbone with a GlobalAveragePooling + (Dropout) + Dense(numClasses) head, optional BAM. */
export function inceptionV3(opts: ModelOptions): Model {
  const config = resolveConfig('inceptionV3', opts, {
    ...MODEL_CATALOG.inceptionv3,
    bamPositions: INCEPTION_V3_BAM_POSITIONS,
    aliases: { stem: 'activation_4' },
  });
  return buildScope(
    { seed: config.seed },
    () => new Model('inception_v3', config, backbone(config.widthMultiplier, config.inputChannels)),
  );
}
