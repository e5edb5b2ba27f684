/**
 * EfficientNetB1 and EfficientNetV2B2 exactly as keras.applications builds them (Tan & Le 2019 and 2021;
 * `keras/src/applications/efficientnet.py`, `efficientnet_v2.py`), layer for layer with Keras's layer names
 * (`stem_conv`, `block1a_dwconv`, `block2b_se_reduce`, `block2b_add`, `top_conv`, ...):
 * - input (0..255 pixels): Rescaling(1 / 255) -> Normalization (B1: `mean`, `variance`, `count`
 *   non-trainable weights, identity until weights are loaded; V2B2: ImageNet statistics as constants);
 * - stem: 3x3 / 2 conv (no bias) -> BN -> swish; top: 1x1 conv to round_filters(1280) -> BN -> swish;
 * - MBConv (B1, V2 stages 4-6): [1x1 expand conv -> BN -> swish] -> depthwise conv -> BN -> swish -> SE
 *   (Cse = max(1, floor(0.25 * block input filters))) -> 1x1 project conv -> BN; Fused-MBConv (V2 stages
 *   1-3): [k x k expand conv (stride) -> BN -> swish] -> project conv (1x1, or k x k with stride and swish
 *   when there is no expansion) -> BN;
 * - a block with stride 1 and equal input and output filters adds its input (`_add`) after stochastic depth
 *   (`_drop`, rate drop_connect_rate * b / blocks; B1 counts the rounded repeats, V2 the unrounded ones);
 * - B1 pads stride-2 convs with `correct_pad` for the input size it is built at (TensorFlow's 'same').
 * Head: GlobalAveragePooling2D -> Dropout (default 0.2) -> Dense(numClasses). Batch norms: epsilon 1e-3,
 * momentum 0.99 (B1) or 0.9 (V2). With 2 classes: B1 6,577,801 parameters, V2B2 8,772,192.
 *
 * Each block is one top-level layer named after its Keras prefix (`block2c`; aliases: its last Keras layer,
 * `block2c_add` or `block2a_project_bn`). BAM follows the ends of the stages before the last three
 * downsamplings: B1 `block2c`, `block3c`, `block5d`; V2B2 `block2c`, `block3c`, `block5f`.
 * `imagenetWeights` (B1) adds Keras's `weights='imagenet'` Rescaling(1 / sqrt(ImageNet std)) after the
 * Normalization. `widthMultiplier` multiplies Keras's width coefficient before rounding. Input: 32 x 32 at least.
 */
import type { Module } from '../layers/module.js';
import { Conv2d, DepthwiseConv2d } from '../layers/conv.js';
import { BatchNorm2d, Normalization } from '../layers/norm.js';
import { Dropout, Rescaling, ZeroPad2d } from '../layers/basic.js';
import { Swish } from '../layers/activation.js';
import { Residual, Sequential } from '../layers/containers.js';
import { SqueezeExcite } from '../layers/se.js';
import type { Pad2d } from '../kernels/layout.js';
import { buildClassifier, type Model, type ModelConfig, type ModelOptions } from './model.js';

/** ImageNet channel statistics of EfficientNetV2's Normalization (Keras's constants: mean and std squared). */
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/**
 * A stage of blocks (a row of Keras's blocks_args, before width and depth scaling): 'mbconv' (depthwise) or
 * 'fused' (Fused-MBConv) blocks, the `kernel` of their depthwise or expansion conv, B0's `repeats`, the first
 * block's input filters, every block's output filters, the `expand` ratio (1: none), the first block's `strides`,
 * the `se` ratio (0: none).
 */
type Stage = readonly [
  type: 'mbconv' | 'fused',
  kernel: number,
  repeats: number,
  filtersIn: number,
  filtersOut: number,
  expand: number,
  strides: number,
  se: number,
];

/** A stage row with its fields named. */
function named([type, kernel, repeats, filtersIn, filtersOut, expand, strides, se]: Stage) {
  return { type, kernel, repeats, filtersIn, filtersOut, expand, strides, se };
}

/** EfficientNet-B0's stages (Keras's DEFAULT_BLOCKS_ARGS), which B1 scales by depth 1.1. */
const B0_STAGES: Stage[] = [
  ['mbconv', 3, 1, 32, 16, 1, 1, 0.25],
  ['mbconv', 3, 2, 16, 24, 6, 2, 0.25],
  ['mbconv', 5, 2, 24, 40, 6, 2, 0.25],
  ['mbconv', 3, 3, 40, 80, 6, 2, 0.25],
  ['mbconv', 5, 3, 80, 112, 6, 1, 0.25],
  ['mbconv', 5, 4, 112, 192, 6, 2, 0.25],
  ['mbconv', 3, 1, 192, 320, 6, 1, 0.25],
];

/** EfficientNetV2-B0's stages (Keras's DEFAULT_BLOCKS_ARGS['efficientnetv2-b0']), which B2 scales. */
const V2_B0_STAGES: Stage[] = [
  ['fused', 3, 1, 32, 16, 1, 1, 0],
  ['fused', 3, 2, 16, 32, 4, 2, 0],
  ['fused', 3, 2, 32, 48, 4, 2, 0],
  ['mbconv', 3, 3, 48, 96, 4, 2, 0.25],
  ['mbconv', 3, 5, 96, 112, 6, 1, 0.25],
  ['mbconv', 3, 8, 112, 192, 6, 2, 0.25],
];

/**
 * A family's constants (Keras's EfficientNet / EfficientNetV2 arguments). Not `v2`: BN momentum 0.99,
 * `correct_pad` before stride-2 convs, depthwise named `dwconv`, the 10% rounding rule.
 */
interface Family {
  arch: 'efficientNetB1' | 'efficientNetV2B2';
  stages: ReturnType<typeof named>[];
  width: number;
  depth: number;
  v2: boolean;
}
const B1: Family = { arch: 'efficientNetB1', stages: B0_STAGES.map(named), width: 1, depth: 1.1, v2: false };
const V2B2: Family = { arch: 'efficientNetV2B2', stages: V2_B0_STAGES.map(named), width: 1.1, depth: 1.2, v2: true };

/** Keras's round_filters: filters * width to a multiple of 8 (at least 8; V1 adds 8 where it lost > 10%). */
function roundFilters(filters: number, width: number, v2: boolean): number {
  const f = filters * width;
  let r = Math.max(8, Math.floor(Math.floor(f + 4) / 8) * 8);
  if (!v2 && r < 0.9 * f) r += 8;
  return r;
}

/** Keras's correct_pad for a stride-2 'valid' op on a square map of side `size`: TensorFlow's 'same', explicit. */
function correctPad(size: number, k: number): Pad2d {
  const c = Math.floor(k / 2);
  return [c - (1 - (size % 2)), c, c - (1 - (size % 2)), c];
}

/** The blocks' Keras prefixes (`block2c`) by stage: ceil(depth * repeats) each. */
const blockNames = (f: Family): string[][] =>
  f.stages.map(({ repeats }, i) =>
    Array.from({ length: Math.ceil(f.depth * repeats) }, (_, j) => `block${i + 1}${String.fromCharCode(97 + j)}`),
  );

function backbone(f: Family, config: ModelConfig): Module[] {
  const { inputChannels: inChannels, dropConnect = 0 } = config;
  const filters = (n: number) => roundFilters(n, f.width * config.widthMultiplier, f.v2);
  const bn = (name: string, channels: number) =>
    new BatchNorm2d({ name, channels, momentum: f.v2 ? 0.9 : 0.99, epsilon: 1e-3 });
  const plain = { useBias: false, kernelInitializer: 'heNormalFanOut', padding: 'same' } as const;
  const conv = (name: string, inChannels: number, filters: number, kernelSize: number, more = {}) =>
    new Conv2d({ ...plain, name, inChannels, filters, kernelSize, ...more });
  /** `<p>conv` -> `<p>bn` -> `<p>activation` (swish). */
  const convBnSwish = (p: string, cin: number, cout: number, kernelSize: number, more = {}) => [
    conv(`${p}conv`, cin, cout, kernelSize, more),
    bn(`${p}bn`, cout),
    new Swish({ name: `${p}activation` }),
  ];
  let size = config.inputSize; // the map's side, for correct_pad
  const layers: Module[] = [];
  if (!f.v2) {
    layers.push(
      new Rescaling({ name: 'rescaling', scale: 1 / 255 }),
      new Normalization({ name: 'normalization', channels: inChannels }),
    );
    // Keras with weights='imagenet': "divide another sqrt(var)" (tensorflow/tensorflow#49930).
    if (config.imagenetWeights) {
      layers.push(new Rescaling({ name: 'rescaling_1', scale: IMAGENET_STD.map((s) => 1 / Math.sqrt(s)) }));
    }
  } else if (inChannels === 3) {
    const stats = { mean: IMAGENET_MEAN, variance: IMAGENET_STD.map((s) => s * s) };
    layers.push(
      new Rescaling({ name: 'rescaling', scale: 1 / 255 }),
      new Normalization({ name: 'normalization', channels: 3, ...stats }),
    );
  } else {
    // Keras's EfficientNetV2 on other than 3 channels: [-1, 1).
    layers.push(new Rescaling({ name: 'rescaling', scale: 1 / 128, offset: -1 }));
  }
  if (!f.v2) layers.push(new ZeroPad2d({ name: 'stem_conv_pad', padding: correctPad(size, 3) }));
  const stem = { strides: 2, padding: f.v2 ? 'same' : 'valid' } as const;
  layers.push(...convBnSwish('stem_', inChannels, filters(f.stages[0].filtersIn), 3, stem));
  size = Math.ceil(size / 2);

  const names = blockNames(f);
  // Keras: V1 divides by the rounded repeats, V2 by the unrounded ones.
  const blocks = f.v2 ? f.stages.reduce((t, stage) => t + stage.repeats, 0) : names.flat().length;
  let b = 0;
  f.stages.forEach(({ type, kernel, filtersIn, filtersOut, expand, strides: stageStrides, se }, i) => {
    const fout = filters(filtersOut);
    names[i].forEach((name, j) => {
      const fin = j === 0 ? filters(filtersIn) : fout;
      const strides = j === 0 ? stageStrides : 1;
      const p = `${name}_`;
      const mid = fin * expand;
      const body: Module[] = [];
      if (type === 'mbconv') {
        if (expand !== 1) body.push(...convBnSwish(`${p}expand_`, fin, mid, 1));
        const correct = strides === 2 && !f.v2;
        if (correct) body.push(new ZeroPad2d({ name: `${p}dwconv_pad`, padding: correctPad(size, kernel) }));
        body.push(
          new DepthwiseConv2d({
            name: `${p}${f.v2 ? 'dwconv2' : 'dwconv'}`,
            inChannels: mid,
            kernelSize: kernel,
            strides,
            padding: correct ? 'valid' : 'same',
            useBias: false,
            depthwiseInitializer: 'heNormalFanOut',
          }),
          bn(`${p}bn`, mid),
          new Swish({ name: `${p}activation` }),
        );
      } else if (expand !== 1) {
        body.push(...convBnSwish(`${p}expand_`, fin, mid, kernel, { strides }));
      }
      if (se > 0) {
        const seChannels = Math.max(1, Math.floor(fin * se));
        body.push(new SqueezeExcite({ prefix: p, channels: mid, seChannels, kernelInitializer: 'heNormalFanOut' }));
      }
      const fusedPlain = type === 'fused' && expand === 1; // the project conv is the block's k x k conv
      const projectStrides = fusedPlain ? strides : 1;
      body.push(
        conv(`${p}project_conv`, mid, fout, fusedPlain ? kernel : 1, { strides: projectStrides }),
        bn(`${p}project_bn`, fout),
      );
      if (fusedPlain) body.push(new Swish({ name: `${p}project_activation` }));
      const rate = (dropConnect * b) / blocks;
      if (strides === 1 && fin === fout) {
        if (rate > 0) body.push(new Dropout({ name: `${p}drop`, rate, noiseShape: [null, 1, 1, 1] }));
        const branch = new Sequential(body, { name: `${p}branch` });
        layers.push(new Sequential([new Residual(branch, { name: `${p}add` })], { name }));
      } else {
        layers.push(new Sequential(body, { name }));
      }
      if (strides === 2) size = Math.ceil(size / 2);
      b++;
    });
  });
  const lastOut = f.stages[f.stages.length - 1].filtersOut;
  layers.push(...convBnSwish('top_', filters(lastOut), filters(1280), 1));
  return layers;
}

function build(f: Family, opts: ModelOptions): Model {
  const aliases: Record<string, string> = {};
  for (const name of blockNames(f).flat())
    for (const last of ['add', 'project_bn', 'project_activation']) aliases[`${name}_${last}`] = name;
  return buildClassifier(f.arch, opts, (config) => backbone(f, config), aliases);
}

/**
 * Keras's EfficientNetB1 (width 1.0, depth 1.1, 240 px, swish, SE 0.25, drop connect 0.2) with a
 * GlobalAveragePooling + Dropout (default 0.2) + Dense(numClasses) head, optional BAM. Takes 0..255 pixels.
 */
export function efficientNetB1(opts: ModelOptions): Model {
  return build(B1, opts);
}

/**
 * Keras's EfficientNetV2B2 (width 1.1, depth 1.2, 260 px, Fused-MBConv stages 1-3, MBConv 4-6, BN momentum
 * 0.9, drop connect 0.2) with a GlobalAveragePooling + Dropout (default 0.2) + Dense(numClasses) head,
 * optional BAM. Takes 0..255 pixels.
 */
export function efficientNetV2B2(opts: ModelOptions): Model {
  return build(V2B2, opts);
}
