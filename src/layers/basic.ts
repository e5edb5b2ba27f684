/** Weightless layers: activations, pooling, padding, dropout, flatten. */
import { Tensor, shapeStr, tidy, type Shape } from '../tensor.js';
import { add, addScalar, mul, reshape, scale } from '../kernels/elementwise.js';
import { maxPool2d, avgPool2d, globalAvgPool2d, poolGeometry } from '../kernels/pool.js';
import { zeroPad2d, type Pad2d } from '../kernels/layout.js';
import { dropout } from '../kernels/dropout.js';
import { softmax } from '../kernels/loss.js';
import { hashSeed } from '../init.js';
import { Module, scopeSeed, type LayerOptions } from './module.js';
import { checkChoice, checkNumber, withDefault } from '../validate.js';

/** A weightless layer that applies one op. */
abstract class OpLayer extends Module {
  constructor(
    opts: LayerOptions,
    readonly kind: string,
    autoName: string,
    private readonly op: (x: Tensor) => Tensor,
  ) {
    super(opts, autoName);
  }
  forward(x: Tensor): Tensor {
    return this.op(x);
  }
}

/** Keras's Softmax over the last axis of [N, K]. (Training uses logits: the loss applies it.) */
export class Softmax extends OpLayer {
  constructor(opts: LayerOptions = {}) {
    super(opts, 'Softmax', 'softmax', softmax);
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
  /** The pooling ops' options. */
  get window(): { size: number; stride: number; padding: 'valid' | 'same' } {
    return { size: this.poolSize, stride: this.strides, padding: this.padding };
  }
  override outputShape(input: Shape): number[] {
    const [N, H, W, C] = input;
    if (input.length !== 4) throw new Error(`ossify: ${this.name} takes NHWC, got ${shapeStr(input)}`);
    const g = poolGeometry(H, W, this.window);
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
    return maxPool2d(x, this.window);
  }
}

/** Keras's AveragePooling2D; with 'same' padding the divisor counts only the cells inside the image (TensorFlow). */
export class AvgPool2d extends Pool2d {
  readonly kind = 'AveragePooling2D';
  constructor(opts: Pool2dOptions) {
    super(opts, 'average_pooling2d');
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, { ...this.window, countIncludePad: false });
  }
}

/** Keras's GlobalAveragePooling2D: [N, H, W, C] -> [N, C]. */
export class GlobalAvgPool2d extends OpLayer {
  constructor(opts: LayerOptions = {}) {
    super(opts, 'GlobalAveragePooling2D', 'global_average_pooling2d', globalAvgPool2d);
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

/** Options of {@link Dropout}. */
export interface DropoutOptions extends LayerOptions {
  /** Drop probability in [0, 1). */
  rate: number;
  /** Mask seed (default: the build scope's). */
  seed?: number;
  /** Keras's `noise_shape`: the mask's shape, broadcast over the input (`null`: the input's size there). */
  noiseShape?: readonly (number | null)[];
}

/**
 * Keras's Dropout: in training, zeroes each element (or mask cell) with probability `rate` and scales the rest
 * by 1 / (1 - rate); identity in inference. Masks are seeded by (seed, layer name, call count): reproducible.
 */
export class Dropout extends Module {
  readonly kind = 'Dropout';
  /** Drop probability. */
  readonly rate: number;
  /** Keras's `noise_shape` (null: the input's shape). */
  readonly noiseShape: readonly (number | null)[] | null;
  private readonly baseSeed: number;
  private calls = 0;
  constructor(opts: DropoutOptions) {
    super(opts, 'dropout');
    this.rate = checkNumber(opts.rate, `Dropout ${this.name} rate`, { min: 0, below: 1 });
    this.baseSeed = hashSeed(opts.seed ?? scopeSeed(), this.name);
    const ns = opts.noiseShape;
    if (ns !== undefined && (!Array.isArray(ns) || !ns.every((d) => d === null || (Number.isInteger(d) && d >= 1))))
      throw new Error(
        `ossify: Dropout ${this.name} noiseShape must be a list of positive integers or null, got ${String(ns)}`,
      );
    this.noiseShape = ns ? [...ns] : null;
  }
  forward(x: Tensor): Tensor {
    const active = this.training && this.rate > 0;
    const seed = active ? (this.baseSeed + Math.imul(this.calls++, 0x9e3779b1)) >>> 0 : 0;
    if (!active || !this.noiseShape) return dropout(x, this.rate, seed, active);
    const ns = this.noiseShape;
    if (ns.length !== x.rank || ns.some((d, i) => d !== null && d !== 1 && d !== x.shape[i]))
      throw new Error(
        `ossify: Dropout ${this.name} noiseShape [${ns.join(', ')}] does not broadcast to the input ` +
          shapeStr(x.shape),
      );
    const mask = tidy(() => dropout(Tensor.ones(ns.map((d, i) => d ?? x.shape[i])), this.rate, seed));
    return mul(x, mask);
  }
}

/** Keras's Reshape: [N, ...] -> [N, ...targetShape] (the batch axis kept). */
export class Reshape extends Module {
  readonly kind = 'Reshape';
  readonly targetShape: readonly number[];
  constructor(opts: LayerOptions & { targetShape: readonly number[] }) {
    super(opts, 'reshape');
    this.targetShape = [...opts.targetShape];
  }
  forward(x: Tensor): Tensor {
    return reshape(x, [x.shape[0], ...this.targetShape]);
  }
  override outputShape(input: Shape): number[] {
    const n = input.slice(1).reduce((p, d) => p * d, 1);
    const m = this.targetShape.reduce((p, d) => p * d, 1);
    if (n !== m) throw new Error(`ossify: ${this.name} cannot reshape ${shapeStr(input)} to [N, ${this.targetShape}]`);
    return [input[0], ...this.targetShape];
  }
}

/** Options of {@link Rescaling}: y = x * scale + offset. */
export interface RescalingOptions extends LayerOptions {
  /** A number, or one per channel (last axis). */
  scale: number | readonly number[];
  /** A number, or one per channel (default 0). */
  offset?: number | readonly number[];
}

/** Keras's Rescaling: y = x * scale + offset, with scalars or per-channel (last axis) lists; no weights. */
export class Rescaling extends Module {
  readonly kind = 'Rescaling';
  readonly scale: number | readonly number[];
  readonly offset: number | readonly number[];
  constructor(opts: RescalingOptions) {
    super(opts, 'rescaling');
    const check = (v: unknown, what: string) => {
      const ok = (d: unknown) => typeof d === 'number' && Number.isFinite(d);
      if (!(ok(v) || (Array.isArray(v) && v.length > 0 && v.every(ok))))
        throw new Error(`ossify: Rescaling ${this.name} ${what} must be a finite number or a list of them`);
      return typeof v === 'number' ? v : [...(v as number[])];
    };
    this.scale = check(opts.scale, 'scale');
    this.offset = check(withDefault(opts.offset, 0), 'offset');
  }
  forward(x: Tensor): Tensor {
    const c = x.shape[x.rank - 1];
    const perChannel = (v: readonly number[], what: string) => {
      if (v.length !== c) throw new Error(`ossify: ${this.name}: ${v.length} ${what} values for ${c} channels`);
      return Tensor.from(v, [c]);
    };
    const s = this.scale;
    const o = this.offset;
    const y = typeof s === 'number' ? (s === 1 ? x : scale(x, s)) : mul(x, perChannel(s, 'scale'));
    return typeof o === 'number' ? (o === 0 ? y : addScalar(y, o)) : add(y, perChannel(o, 'offset'));
  }
}

/** Keras's Flatten: [N, ...] -> [N, prod(...)]. */
export class Flatten extends OpLayer {
  constructor(opts: LayerOptions = {}) {
    super(opts, 'Flatten', 'flatten', (x) => reshape(x, [x.shape[0], -1]));
  }
  override outputShape(input: Shape): number[] {
    return [input[0], input.slice(1).reduce((p, d) => p * d, 1)];
  }
}

/** Passes its input through (a DenseNet block's skip branch); hidden in summaries. */
export class Identity extends OpLayer {
  constructor(opts: LayerOptions = {}) {
    super(opts, 'Identity', 'identity', (x) => x);
    this.hidden = true;
  }
}
