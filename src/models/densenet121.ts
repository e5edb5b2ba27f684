/**
 * DenseNet121 exactly as keras.applications.densenet builds it (Huang et al. 2017), with Keras's
 * layer names (`conv1/conv`, `conv1/bn`, `conv2_block1_0_bn`, `conv2_block1_1_conv`, ...,
 * `pool2_conv`, `bn`):
 * - ZeroPadding2D(3) -> 7x7/2 conv (64, no bias) -> BN -> ReLU -> ZeroPadding2D(1) -> 3x3/2 max pool;
 * - dense blocks of 6, 12, 24, 16 conv blocks; a conv block is BN -> ReLU -> 1x1 conv (4 * growth)
 *   -> BN -> ReLU -> 3x3 'same' conv (growth 32), concatenated to its input (`..._concat`);
 * - transitions (`pool2`..`pool4`): BN -> ReLU -> 1x1 conv to floor(0.5 C) -> 2x2/2 average pool;
 * - final BN (`bn`) -> ReLU (`relu`). Every BN: epsilon 1.001e-5, momentum 0.99, scale and center.
 * Head: GlobalAveragePooling2D -> Dropout (optional) -> Dense(numClasses).
 * With 2 classes: 7,039,554 parameters, 6,955,906 trainable.
 *
 * BAM positions are top-level layer names: the dense blocks `conv2`..`conv5` (BAM follows the
 * block's last concatenation), the transitions `pool2`..`pool4`, and the stem layers; default after
 * dense blocks 1, 2, 3 (`conv2`, `conv3`, `conv4`: 256, 512, 1024 channels). Aliases: the block's
 * last Keras layer name (`conv2_block6_concat`, `conv3_block12_concat`, `conv4_block24_concat`,
 * `conv5_block16_concat`). Input: x / 255 normalised by the ImageNet mean and std, 32 x 32 at least.
 */
import type { Module } from '../layers/module.js';
import { Conv2d } from '../layers/conv.js';
import { BatchNorm2d } from '../layers/norm.js';
import { AvgPool2d, Identity, MaxPool2d, ZeroPad2d } from '../layers/basic.js';
import { ReLU } from '../layers/activation.js';
import { Concat, Sequential } from '../layers/containers.js';
import { buildClassifier, type Model, type ModelConfig, type ModelOptions } from './model.js';

/** Conv blocks per dense block. */
const DENSENET121_BLOCKS = [6, 12, 24, 16];

const EPS = 1.001e-5;

function backbone({ widthMultiplier, inputChannels: inChannels }: ModelConfig): Module[] {
  const F = (n: number) => Math.max(1, Math.round(n * widthMultiplier));
  const growth = F(32);
  const bn = (name: string, channels: number) => new BatchNorm2d({ name, channels, epsilon: EPS });
  const conv = (name: string, inChannels: number, filters: number, kernelSize: number, padding?: 'same') =>
    new Conv2d({ name, inChannels, filters, kernelSize, padding, useBias: false });
  const layers: Module[] = [];
  let c = F(64);
  layers.push(
    new ZeroPad2d({ padding: 3 }),
    new Conv2d({ name: 'conv1/conv', inChannels, filters: c, kernelSize: 7, strides: 2, useBias: false }),
    bn('conv1/bn', c),
    new ReLU({ name: 'conv1/relu' }),
    new ZeroPad2d({ padding: 1 }),
    new MaxPool2d({ name: 'pool1', poolSize: 3, strides: 2 }),
  );
  DENSENET121_BLOCKS.forEach((blocks, s) => {
    const stage = `conv${s + 2}`;
    const block = new Sequential([], { name: stage });
    for (let i = 1; i <= blocks; i++) {
      const n = `${stage}_block${i}`;
      const f = new Sequential(
        [
          bn(`${n}_0_bn`, c),
          new ReLU({ name: `${n}_0_relu` }),
          conv(`${n}_1_conv`, c, 4 * growth, 1),
          bn(`${n}_1_bn`, 4 * growth),
          new ReLU({ name: `${n}_1_relu` }),
          conv(`${n}_2_conv`, 4 * growth, growth, 3, 'same'),
        ],
        { name: n },
      );
      block.add(new Concat([new Identity({ name: `${n}_skip` }), f], { name: `${n}_concat` }));
      c += growth;
    }
    layers.push(block);
    if (s < DENSENET121_BLOCKS.length - 1) {
      const t = `pool${s + 2}`;
      const out = Math.floor(c * 0.5);
      layers.push(
        new Sequential(
          [
            bn(`${t}_bn`, c),
            new ReLU({ name: `${t}_relu` }),
            conv(`${t}_conv`, c, out, 1),
            new AvgPool2d({ name: `${t}_pool`, poolSize: 2, strides: 2 }),
          ],
          { name: t },
        ),
      );
      c = out;
    }
  });
  layers.push(bn('bn', c), new ReLU({ name: 'relu' }));
  return layers;
}

/** Keras's DenseNet121 backbone with a GlobalAveragePooling + (Dropout) + Dense(numClasses) head, optional BAM. */
export function denseNet121(opts: ModelOptions): Model {
  const aliases: Record<string, string> = {};
  DENSENET121_BLOCKS.forEach((b, s) => (aliases[`conv${s + 2}_block${b}_concat`] = `conv${s + 2}`));
  return buildClassifier('denseNet121', opts, backbone, aliases);
}
