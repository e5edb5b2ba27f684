/**
 * EfficientNetB1 and EfficientNetV2B2 exactly as keras.applications builds them (Tan & Le 2019 and
 * 2021; `keras/src/applications/efficientnet.py`, `efficientnet_v2.py`), layer for layer with Keras's
 * layer names (`stem_conv`, `block1a_dwconv`, `block2b_se_reduce`, `block2b_add`, `top_conv`, ...):
 * - input: Keras's models take 0..255 pixels and scale inside: Rescaling(1 / 255) -> Normalization
 *   (B1: `mean`, `variance`, `count` non-trainable weights, 7 parameters, identity until weights are
 *   loaded; V2B2: ImageNet mean and variance as constants, no weights);
 * - stem: 3x3 / 2 conv (no bias) -> BN -> swish (B1 pads with `correct_pad` then 'valid', V2 'same');
 * - MBConv (B1, V2 stages 4-6): [1x1 expand conv -> BN -> swish] -> depthwise conv -> BN -> swish ->
 *   squeeze-and-excitation (Cse = max(1, floor(0.25 * block input filters)), convs with bias) -> 1x1
 *   project conv -> BN; Fused-MBConv (V2 stages 1-3): [k x k expand conv (stride) -> BN -> swish] ->
 *   project conv (1x1, or k x k with stride when there is no expansion, then swish) -> BN;
 * - a block with stride 1 and equal input and output filters adds its input (`_add`) after stochastic
 *   depth (`_drop`: Dropout(noise_shape=(None, 1, 1, 1)), rate drop_connect_rate * b / blocks, b the
 *   block's index; B1 counts the rounded repeats, V2 the unrounded ones, as Keras; none in block 0);
 * - top: 1x1 conv to round_filters(1280) -> BN -> swish. Head: GlobalAveragePooling2D -> Dropout
 *   (default 0.2, Keras's top dropout) -> Dense(numClasses).
 * Filters: round_filters (multiples of 8; B1 adds 8 where rounding lost more than 10%); repeats
 * ceil(depth * repeats). Batch norms: epsilon 1e-3, momentum 0.99 (B1) or 0.9 (V2). Stride-2 depthwise
 * convs in B1 pad with `correct_pad` for the input size the model is built at (TensorFlow's 'same').
 * With 2 classes: B1 6,577,801 parameters (Keras: 6,575,239 without top + 2,562); V2B2 8,772,192
 * (Keras: 8,769,374 without top + 2,818).
 *
 * Each block is one top-level layer named after its Keras prefix (`block2c`; alias: its last Keras
 * layer, `block2c_add` or `block2a_project_bn`). BAM follows the ends of the stages before the last
 * three downsamplings (stem, stages 2, 3, 4, 6 downsample; BAM before stages 3, 4, 6): B1 `block2c`,
 * `block3c`, `block5d` (24, 40, 112 channels); V2B2 `block2c`, `block3c`, `block5f` (32, 56, 120).
 * `imagenetWeights` (B1) adds Keras's `weights='imagenet'` Rescaling(1 / sqrt(ImageNet std)) after the
 * Normalization. `widthMultiplier` multiplies Keras's width coefficient before rounding (so channels stay multiples
 * of 8). Input: 0..255 pixels, 32 x 32 at least.
 */
import { Module, buildScope } from '../layers/module.js';
import { Conv2d, DepthwiseConv2d } from '../layers/conv.js';
import { BatchNorm2d, Normalization } from '../layers/norm.js';
import { Dropout, Rescaling, Swish, ZeroPad2d } from '../layers/basic.js';
import { Residual, Sequential } from '../layers/containers.js';
import { SqueezeExcite } from '../layers/se.js';
import type { Pad2d } from '../kernels/pad.js';
import { Model, resolveConfig, type ModelOptions } from './model.js';
import { MODEL_CATALOG } from './catalog.js';

/** ImageNet channel statistics of EfficientNetV2's Normalization (Keras's constants: mean and std squared). */
const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
const IMAGENET_VARIANCE = IMAGENET_STD.map((s) => s * s);

/** One stage of blocks (Keras's blocks_args). */
export interface EfficientNetStage {
  /** 'mbconv' (depthwise) or 'fused' (Fused-MBConv, EfficientNetV2). */
  type: 'mbconv' | 'fused';
  /** Kernel size of the depthwise (MBConv) or expansion (Fused-MBConv) convolution. */
  kernel: number;
  /** Blocks in the stage before depth scaling (B0's). */
  repeats: number;
  /** Input filters of the stage's first block before width scaling. */
  filtersIn: number;
  /** Output filters of every block of the stage before width scaling. */
  filtersOut: number;
  /** Expansion ratio (1: no expansion convolution). */
  expand: number;
  /** Stride of the stage's first block. */
  strides: number;
  /** Squeeze-and-excitation ratio (0: none). */
  se: number;
}

const stage = (
  type: 'mbconv' | 'fused',
  kernel: number,
  repeats: number,
  filtersIn: number,
  filtersOut: number,
  expand: number,
  strides: number,
  se: number,
): EfficientNetStage => ({ type, kernel, repeats, filtersIn, filtersOut, expand, strides, se });

/** EfficientNet-B0's stages (Keras's DEFAULT_BLOCKS_ARGS), which B1 scales by depth 1.1. */
export const EFFICIENTNET_B0_STAGES: readonly EfficientNetStage[] = [
  stage('mbconv', 3, 1, 32, 16, 1, 1, 0.25),
  stage('mbconv', 3, 2, 16, 24, 6, 2, 0.25),
  stage('mbconv', 5, 2, 24, 40, 6, 2, 0.25),
  stage('mbconv', 3, 3, 40, 80, 6, 2, 0.25),
  stage('mbconv', 5, 3, 80, 112, 6, 1, 0.25),
  stage('mbconv', 5, 4, 112, 192, 6, 2, 0.25),
  stage('mbconv', 3, 1, 192, 320, 6, 1, 0.25),
];

/** EfficientNetV2-B0's stages (Keras's DEFAULT_BLOCKS_ARGS['efficientnetv2-b0']), which B2 scales. */
export const EFFICIENTNETV2_B0_STAGES: readonly EfficientNetStage[] = [
  stage('fused', 3, 1, 32, 16, 1, 1, 0),
  stage('fused', 3, 2, 16, 32, 4, 2, 0),
  stage('fused', 3, 2, 32, 48, 4, 2, 0),
  stage('mbconv', 3, 3, 48, 96, 4, 2, 0.25),
  stage('mbconv', 3, 5, 96, 112, 6, 1, 0.25),
  stage('mbconv', 3, 8, 112, 192, 6, 2, 0.25),
];

/** The default BAM positions of EfficientNetB1 (ends of stages 2, 3 and 5). */
export const EFFICIENTNET_B1_BAM_POSITIONS = ['block2c', 'block3c', 'block5d'];
/** The default BAM positions of EfficientNetV2B2 (ends of stages 2, 3 and 5). */
export const EFFICIENTNETV2_B2_BAM_POSITIONS = ['block2c', 'block3c', 'block5f'];

/** A family's constants (Keras's EfficientNet / EfficientNetV2 arguments). */
interface Family {
  name: string;
  stages: readonly EfficientNetStage[];
  width: number;
  depth: number;
  /** V1: BN momentum 0.99, `correct_pad` before stride-2 convs, depthwise named `dwconv`, 10% rounding rule. */
  v2: boolean;
  dropConnect: number;
}

const B1: Family = {
  name: 'efficientnetb1',
  stages: EFFICIENTNET_B0_STAGES,
  width: 1,
  depth: 1.1,
  v2: false,
  dropConnect: 0.2,
};
const V2B2: Family = {
  name: 'efficientnetv2-b2',
  stages: EFFICIENTNETV2_B0_STAGES,
  width: 1.1,
  depth: 1.2,
  v2: true,
  dropConnect: 0.2,
};

/** Keras's round_filters: filters * width to a multiple of 8 (at least 8; V1 adds 8 where it lost > 10%). */
export function roundFilters(filters: number, width: number, v2: boolean): number {
  const f = filters * width;
  let r = Math.max(8, Math.floor(Math.floor(f + 4) / 8) * 8);
  if (!v2 && r < 0.9 * f) r += 8;
  return r;
}

/** Keras's correct_pad for a stride-2 'valid' op on an h x w map: TensorFlow's 'same' padding, explicit. */
function correctPad(h: number, w: number, k: number): Pad2d {
  const c = Math.floor(k / 2);
  return [c - (1 - (h % 2)), c, c - (1 - (w % 2)), c];
}

function backbone(
  f: Family,
  w: number,
  inChannels: number,
  inputSize: number,
  dropConnect: number,
  imagenetWeights: boolean,
): Module[] {
  const filters = (n: number) => roundFilters(n, f.width * w, f.v2);
  const conv = { useBias: false, kernelInitializer: 'heNormalFanOut', padding: 'same' } as const;
  const bn = (name: string, channels: number) =>
    new BatchNorm2d({ name, channels, momentum: f.v2 ? 0.9 : 0.99, epsilon: 1e-3 });
  let size = inputSize; // the map's side, for correct_pad
  const layers: Module[] = [];
  if (!f.v2) {
    layers.push(
      new Rescaling({ name: 'rescaling', scale: 1 / 255 }),
      new Normalization({ name: 'normalization', channels: inChannels }),
    );
    // Keras with weights='imagenet': "divide another sqrt(var)" (tensorflow/tensorflow#49930).
    if (imagenetWeights) {
      layers.push(new Rescaling({ name: 'rescaling_1', scale: IMAGENET_STD.map((s) => 1 / Math.sqrt(s)) }));
    }
  } else if (inChannels === 3) {
    const stats = { mean: IMAGENET_MEAN, variance: IMAGENET_VARIANCE };
    layers.push(
      new Rescaling({ name: 'rescaling', scale: 1 / 255 }),
      new Normalization({ name: 'normalization', channels: 3, ...stats }),
    );
  } else {
    // Keras's EfficientNetV2 on other than 3 channels: [-1, 1).
    layers.push(new Rescaling({ name: 'rescaling', scale: 1 / 128, offset: -1 }));
  }
  const stem = filters(f.stages[0].filtersIn);
  if (!f.v2) layers.push(new ZeroPad2d({ name: 'stem_conv_pad', padding: correctPad(size, size, 3) }));
  layers.push(
    new Conv2d({
      ...conv,
      name: 'stem_conv',
      inChannels,
      filters: stem,
      kernelSize: 3,
      strides: 2,
      padding: f.v2 ? 'same' : 'valid',
    }),
    bn('stem_bn', stem),
    new Swish({ name: 'stem_activation' }),
  );
  size = Math.ceil(size / 2);

  const repeats = f.stages.map((s) => Math.ceil(f.depth * s.repeats));
  // Keras: V1 divides by the rounded repeats, V2 by the unrounded ones.
  const blocks = f.v2 ? f.stages.reduce((t, s) => t + s.repeats, 0) : repeats.reduce((t, r) => t + r, 0);
  let b = 0;
  f.stages.forEach((s, i) => {
    const fout = filters(s.filtersOut);
    for (let j = 0; j < repeats[i]; j++) {
      const fin = j === 0 ? filters(s.filtersIn) : fout;
      const strides = j === 0 ? s.strides : 1;
      const p = `block${i + 1}${String.fromCharCode(97 + j)}_`;
      const mid = fin * s.expand;
      const body: Module[] = [];
      const stride2pad = (k: number): Module[] =>
        strides === 2 && !f.v2 ? [new ZeroPad2d({ name: `${p}dwconv_pad`, padding: correctPad(size, size, k) })] : [];
      if (s.type === 'mbconv') {
        if (s.expand !== 1)
          body.push(
            new Conv2d({ ...conv, name: `${p}expand_conv`, inChannels: fin, filters: mid, kernelSize: 1 }),
            bn(`${p}expand_bn`, mid),
            new Swish({ name: `${p}expand_activation` }),
          );
        body.push(
          ...stride2pad(s.kernel),
          new DepthwiseConv2d({
            name: `${p}${f.v2 ? 'dwconv2' : 'dwconv'}`,
            inChannels: mid,
            kernelSize: s.kernel,
            strides,
            padding: strides === 2 && !f.v2 ? 'valid' : 'same',
            useBias: false,
            depthwiseInitializer: 'heNormalFanOut',
          }),
          bn(`${p}bn`, mid),
          new Swish({ name: `${p}activation` }),
        );
      } else if (s.expand !== 1) {
        body.push(
          new Conv2d({
            ...conv,
            name: `${p}expand_conv`,
            inChannels: fin,
            filters: mid,
            kernelSize: s.kernel,
            strides,
          }),
          bn(`${p}expand_bn`, mid),
          new Swish({ name: `${p}expand_activation` }),
        );
      }
      if (s.se > 0) {
        const seChannels = Math.max(1, Math.floor(fin * s.se));
        body.push(new SqueezeExcite({ prefix: p, channels: mid, seChannels, kernelInitializer: 'heNormalFanOut' }));
      }
      const fusedPlain = s.type === 'fused' && s.expand === 1; // the project conv is the block's k x k conv
      body.push(
        new Conv2d({
          ...conv,
          name: `${p}project_conv`,
          inChannels: mid,
          filters: fout,
          kernelSize: fusedPlain ? s.kernel : 1,
          strides: fusedPlain ? strides : 1,
        }),
        bn(`${p}project_bn`, fout),
      );
      if (fusedPlain) body.push(new Swish({ name: `${p}project_activation` }));
      const rate = (dropConnect * b) / blocks;
      const name = p.slice(0, -1);
      if (strides === 1 && fin === fout) {
        if (rate > 0) body.push(new Dropout({ name: `${p}drop`, rate, noiseShape: [null, 1, 1, 1] }));
        const branch = new Sequential(body, { name: `${p}branch` });
        layers.push(new Sequential([new Residual(branch, { name: `${p}add` })], { name }));
      } else {
        layers.push(new Sequential(body, { name }));
      }
      if (strides === 2) size = Math.ceil(size / 2);
      b++;
    }
  });
  const top = filters(1280);
  const last = filters(f.stages[f.stages.length - 1].filtersOut);
  layers.push(
    new Conv2d({ ...conv, name: 'top_conv', inChannels: last, filters: top, kernelSize: 1 }),
    bn('top_bn', top),
    new Swish({ name: 'top_activation' }),
  );
  return layers;
}

/** The aliases of a family's block names: each block's last Keras layer (`block2c_add`, `block2a_project_bn`). */
function blockAliases(f: Family): Record<string, string> {
  const aliases: Record<string, string> = {};
  f.stages.forEach((s, i) => {
    const n = Math.ceil(f.depth * s.repeats);
    for (let j = 0; j < n; j++) {
      const name = `block${i + 1}${String.fromCharCode(97 + j)}`;
      aliases[`${name}_add`] = name;
      aliases[`${name}_project_bn`] = name;
      aliases[`${name}_project_activation`] = name;
    }
  });
  return aliases;
}

function build(f: Family, arch: 'efficientNetB1' | 'efficientNetV2B2', opts: ModelOptions): Model {
  const entry = arch === 'efficientNetB1' ? MODEL_CATALOG.efficientnetb1 : MODEL_CATALOG.efficientnetv2b2;
  const config = resolveConfig(arch, opts, {
    ...entry,
    bamPositions: arch === 'efficientNetB1' ? EFFICIENTNET_B1_BAM_POSITIONS : EFFICIENTNETV2_B2_BAM_POSITIONS,
    aliases: blockAliases(f),
    dropout: 0.2,
    dropConnect: f.dropConnect,
  });
  if (config.imagenetWeights && config.inputChannels !== 3)
    throw new Error(`ossify: ${arch}: imagenetWeights needs 3 input channels, got ${config.inputChannels}`);
  return buildScope(
    { seed: config.seed },
    () =>
      new Model(
        f.name,
        config,
        backbone(
          f,
          config.widthMultiplier,
          config.inputChannels,
          config.inputSize,
          config.dropConnect ?? 0,
          config.imagenetWeights ?? false,
        ),
      ),
  );
}

/**
 * Keras's EfficientNetB1 (width 1.0, depth 1.1, 240 px, swish, SE 0.25, drop connect 0.2) with a
 * GlobalAveragePooling + Dropout (default 0.2) + Dense(numClasses) head, optional BAM. Takes 0..255 pixels.
 */
export function efficientNetB1(opts: ModelOptions): Model {
  return build(B1, 'efficientNetB1', opts);
}

/**
 * Keras's EfficientNetV2B2 (width 1.1, depth 1.2, 260 px, Fused-MBConv stages 1-3, MBConv 4-6, BN momentum
 * 0.9, drop connect 0.2) with a GlobalAveragePooling + Dropout (default 0.2) + Dense(numClasses) head,
 * optional BAM. Takes 0..255 pixels.
 */
export function efficientNetV2B2(opts: ModelOptions): Model {
  return build(V2B2, 'efficientNetV2B2', opts);
}
