/** Weightless layers: activations, pooling, padding, dropout, flatten. */
import { shapeStr, type Tensor, type Shape } from '../tensor.js';
import { relu, sigmoid, swish, reshape } from '../kernels/elementwise.js';
import { maxPool2d, avgPool2d, globalAvgPool2d, poolGeometry } from '../kernels/pool.js';
import { zeroPad2d, type Pad2d } from '../kernels/pad.js';
import { dropout } from '../kernels/dropout.js';
import { softmax } from '../kernels/loss.js';
import { hashSeed } from '../init.js';
import { Module, scopeSeed, type LayerOptions } from './module.js';
import { checkChoice, checkNumber, withDefault } from '../validate.js';

/** Keras's Activation('relu'). */
export class ReLU extends Module {
  readonly kind = 'Activation';
  constructor(opts: LayerOptions = {}) {
    super(opts, 'activation');
  }
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

/** Keras's Activation('sigmoid'). */
export class Sigmoid extends Module {
  readonly kind = 'Activation';
  constructor(opts: LayerOptions = {}) {
    super(opts, 'activation');
  }
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** Keras's Activation('swish'): x * sigmoid(x) (SiLU), EfficientNet's activation. */
export class Swish extends Module {
  readonly kind = 'Activation';
  constructor(opts: LayerOptions = {}) {
    super(opts, 'activation');
  }
  forward(x: Tensor): Tensor {
    return swish(x);
  }
}

/** Keras's Softmax over the last axis of [N, K]. (Training uses logits: the loss applies it.) */
export class Softmax extends Module {
  readonly kind = 'Softmax';
  constructor(opts: LayerOptions = {}) {
    super(opts, 'softmax');
  }
  forward(x: Tensor): Tensor {
    return softmax(x);
  }
}

/** Options of the pooling layers. */
export interface Pool2dOptions extends LayerOptions {
  /** Window size (square). */
  poolSize: number;
  /** Stride (default: the pool size, as Keras). */
  strides?: number;
  /** 'valid' (default) or 'same' (TensorFlow's rule: extra row/column bottom/right). */
  padding?: 'valid' | 'same';
}

abstract class Pool2d extends Module {
  readonly poolSize: number;
  readonly strides: number;
  readonly padding: 'valid' | 'same';
  constructor(opts: Pool2dOptions, auto: string) {
    super(opts, auto);
    const positive = { integer: true, min: 1 };
    this.poolSize = checkNumber(opts.poolSize, `${this.name} poolSize`, positive);
    this.strides = checkNumber(withDefault(opts.strides, opts.poolSize), `${this.name} strides`, positive);
    this.padding = checkChoice(withDefault(opts.padding, 'valid'), `${this.name} padding`, ['valid', 'same'] as const);
  }
  override outputShape(input: Shape): number[] {
    const [N, H, W, C] = input;
    if (input.length !== 4) throw new Error(`ossify: ${this.name} takes NHWC, got ${shapeStr(input)}`);
    const g = poolGeometry(H, W, { size: this.poolSize, stride: this.strides, padding: this.padding });
    return [N, g.OH, g.OW, C];
  }
}

/** Keras's MaxPooling2D. */
export class MaxPool2d extends Pool2d {
  readonly kind = 'MaxPooling2D';
  constructor(opts: Pool2dOptions) {
    super(opts, 'max_pooling2d');
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, { size: this.poolSize, stride: this.strides, padding: this.padding });
  }
}

/**
 * Keras's AveragePooling2D. With 'same' padding the divisor counts only the cells inside the image
 * (TensorFlow's rule; PyTorch's default `count_include_pad=True` differs at the borders).
 */
export class AvgPool2d extends Pool2d {
  readonly kind = 'AveragePooling2D';
  constructor(opts: Pool2dOptions) {
    super(opts, 'average_pooling2d');
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, { size: this.poolSize, stride: this.strides, padding: this.padding, countIncludePad: false });
  }
}

/** Keras's GlobalAveragePooling2D: [N, H, W, C] -> [N, C]. */
export class GlobalAvgPool2d extends Module {
  readonly kind = 'GlobalAveragePooling2D';
  constructor(opts: LayerOptions = {}) {
    super(opts, 'global_average_pooling2d');
  }
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x);
  }
  override outputShape(input: Shape): number[] {
    if (input.length !== 4) throw new Error(`ossify: ${this.name} takes NHWC, got ${shapeStr(input)}`);
    return [input[0], input[3]];
  }
}

/** Keras's ZeroPadding2D with padding [top, bottom, left, right] (or one number for all sides). */
export class ZeroPad2d extends Module {
  readonly kind = 'ZeroPadding2D';
  readonly padding: Pad2d;
  constructor(opts: LayerOptions & { padding: number | Pad2d }) {
    super(opts, 'zero_padding2d');
    const p = opts.padding;
    this.padding = typeof p === 'number' ? [p, p, p, p] : p;
  }
  forward(x: Tensor): Tensor {
    return zeroPad2d(x, this.padding);
  }
  override outputShape(input: Shape): number[] {
    const [t, b, l, r] = this.padding;
    return [input[0], input[1] + t + b, input[2] + l + r, input[3]];
  }
}

/**
 * Keras's Dropout: in training, zeroes each element with probability `rate` and scales the rest by
 * 1 / (1 - rate); identity in inference. Each call draws a fresh mask from a seed derived from
 * (seed — by default the build scope's —, layer name, call count), so runs are reproducible.
 */
export class Dropout extends Module {
  readonly kind = 'Dropout';
  readonly rate: number;
  private readonly baseSeed: number;
  private calls = 0;
  constructor(opts: LayerOptions & { rate: number; seed?: number }) {
    super(opts, 'dropout');
    this.rate = checkNumber(opts.rate, `Dropout ${this.name} rate`, { min: 0, below: 1 });
    this.baseSeed = hashSeed(opts.seed ?? scopeSeed(), this.name);
  }
  forward(x: Tensor): Tensor {
    const active = this.training && this.rate > 0;
    const seed = active ? (this.baseSeed + Math.imul(this.calls++, 0x9e3779b1)) >>> 0 : 0;
    return dropout(x, this.rate, seed, active);
  }
}

/** Keras's Flatten: [N, ...] -> [N, prod(...)]. */
export class Flatten extends Module {
  readonly kind = 'Flatten';
  constructor(opts: LayerOptions = {}) {
    super(opts, 'flatten');
  }
  forward(x: Tensor): Tensor {
    return reshape(x, [x.shape[0], -1]);
  }
  override outputShape(input: Shape): number[] {
    return [input[0], input.slice(1).reduce((p, d) => p * d, 1)];
  }
}

/** Passes its input through (a DenseNet block's skip branch); hidden in summaries. */
export class Identity extends Module {
  readonly kind = 'Identity';
  constructor(opts: LayerOptions = {}) {
    super(opts, 'identity');
    this.hidden = true;
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}
