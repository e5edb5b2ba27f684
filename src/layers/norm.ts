/**
 * Keras's BatchNormalization over the last (channel) axis (moving = moving * momentum + batch * (1 - momentum),
 * biased batch variance by default). A frozen layer normalises with its moving statistics even in training,
 * as Keras does for `trainable = False`. Also Keras's preprocessing Normalization, LayerNormalization and
 * GroupNormalization (no running statistics: training and inference agree).
 */
import { Tensor, shapeStr, type Shape } from '../tensor.js';
import { batchNorm, checkBatchNormOptions } from '../kernels/batchnorm.js';
import { add, addScalar, div, mul, relu, sqrt, sub } from '../kernels/elementwise.js';
import { layerNorm, groupNorm } from '../kernels/norm.js';
import { checkNumber, withDefault } from '../validate.js';
import { Module, type LayerOptions } from './module.js';

export { BATCH_NORM_DEFAULTS } from '../kernels/batchnorm.js';

/** Options of {@link BatchNorm}. */
export interface BatchNormOptions extends LayerOptions {
  /** Number of channels (the last axis). */
  channels: number;
  /** Keras momentum in [0, 1] (default {@link BATCH_NORM_DEFAULTS}; PyTorch's 0.1 is 0.9 here). */
  momentum?: number;
  /** Added to the variance, >= 0 (default {@link BATCH_NORM_DEFAULTS}; DenseNet uses 1.001e-5, PyTorch 1e-5). */
  epsilon?: number;
  /** How the moving variance takes the batch's: 'biased' (Keras, default) or 'unbiased' (PyTorch, timm). */
  varianceUpdate?: 'biased' | 'unbiased';
  /** Learn `gamma` (default true; InceptionV3 uses false). */
  scale?: boolean;
  /** Learn `beta` (default true). */
  center?: boolean;
}

/** Batch normalisation over the last axis: weights `gamma`, `beta`, buffers `moving_mean`, `moving_variance`. */
export class BatchNorm extends Module {
  readonly kind = 'BatchNormalization';
  readonly gamma: Tensor | null;
  readonly beta: Tensor | null;
  readonly movingMean: Tensor;
  readonly movingVar: Tensor;
  readonly channels: number;
  readonly momentum: number;
  readonly epsilon: number;
  /** How the moving variance takes the batch's (see {@link BatchNormOptions.varianceUpdate}). */
  readonly varianceUpdate: 'biased' | 'unbiased';
  /** The rank the input must have (4 for BatchNorm2d, 2 for BatchNorm1d), or null for any. */
  protected readonly rank: number | null = null;

  constructor(opts: BatchNormOptions) {
    super(opts, 'batch_normalization');
    this.channels = checkNumber(opts.channels, `${this.name} channels`, { integer: true, min: 1 });
    ({
      momentum: this.momentum,
      epsilon: this.epsilon,
      varianceUpdate: this.varianceUpdate,
    } = checkBatchNormOptions(opts, this.name));
    this.gamma = opts.scale === false ? null : this.addWeight('gamma', [opts.channels], 'ones');
    this.beta = opts.center === false ? null : this.addWeight('beta', [opts.channels], 'zeros');
    this.movingMean = this.addBuffer('moving_mean', [opts.channels], 'zeros');
    this.movingVar = this.addBuffer('moving_variance', [opts.channels], 'ones');
  }

  /** Whether the next forward normalises with batch statistics (training and not frozen). */
  get usesBatchStats(): boolean {
    return this.training && this.trainable;
  }

  /** Normalise x (with batch statistics, updating the moving ones, when {@link usesBatchStats}). */
  forward(x: Tensor): Tensor {
    this.check(x.shape);
    const training = this.usesBatchStats;
    if (training) this.touch(); // the moving statistics move
    return batchNorm(x, { ...bnParams(this), training });
  }

  private check(shape: Shape): void {
    if ((this.rank !== null && shape.length !== this.rank) || shape[shape.length - 1] !== this.channels) {
      throw new Error(
        `ossify: ${this.name} expects ${this.rank ? `rank ${this.rank}, ` : ''}${this.channels} channels last, ` +
          `got ${shapeStr(shape)}`,
      );
    }
  }

  override outputShape(input: Shape): number[] {
    this.check(input);
    return [...input];
  }
}

/** A batch norm layer's parameters as its ops take them. */
export function bnParams(bn: BatchNorm) {
  const { gamma, beta, movingMean, movingVar, momentum, epsilon, varianceUpdate } = bn;
  return { gamma, beta, movingMean, movingVar, momentum, epsilon, varianceUpdate };
}

/** {@link BatchNorm} for NHWC feature maps. */
export class BatchNorm2d extends BatchNorm {
  protected override readonly rank = 4;
}

/** {@link BatchNorm} for [N, C] features (BAM's channel gate). */
export class BatchNorm1d extends BatchNorm {
  protected override readonly rank = 2;
}

/** Options of {@link Normalization}. */
export interface NormalizationOptions extends LayerOptions {
  /** Number of channels (the last axis). */
  channels: number;
  /** Fixed per-channel means and variances (constants, not weights); left out: `mean`, `variance`, `count` buffers. */
  mean?: readonly number[];
  variance?: readonly number[];
}

/**
 * Keras's preprocessing Normalization over the last axis: y = (x - mean) / max(sqrt(variance), 1e-7). Without
 * fixed statistics its `mean` [C], `variance` [C] and `count` [] are non-trainable buffers (fresh: the
 * identity, as Keras's `weights=None`; loading weights sets them).
 */
export class Normalization extends Module {
  readonly kind = 'Normalization';
  /** Channels (the last axis). */
  readonly channels: number;
  /** The buffers (null with fixed statistics). */
  readonly mean: Tensor | null = null;
  readonly variance: Tensor | null = null;
  readonly count: Tensor | null = null;
  /** The fixed statistics as y = x * scale + offset per channel (null: the buffers). */
  private readonly fixed: { scale: number[]; offset: number[] } | null = null;
  /** Keras's backend epsilon: the smallest standard deviation divided by. */
  static readonly EPSILON = 1e-7;

  constructor(opts: NormalizationOptions) {
    super(opts, 'normalization');
    const c = checkNumber(opts.channels, `${this.name} channels`, { integer: true, min: 1 });
    this.channels = c;
    const { mean, variance } = opts;
    if ((mean === undefined) !== (variance === undefined))
      throw new Error(`ossify: ${this.name}: give both mean and variance, or neither`);
    if (mean && variance) {
      const ok = (v: readonly number[], min: number) =>
        Array.isArray(v) && v.length === c && v.every((d) => Number.isFinite(d) && d >= min);
      if (!ok(mean, -Infinity) || !ok(variance, 0))
        throw new Error(`ossify: ${this.name}: mean and variance must be ${c} finite numbers each (variance >= 0)`);
      const std = variance.map((v) => Math.max(Math.sqrt(v), Normalization.EPSILON));
      this.fixed = { scale: std.map((s) => 1 / s), offset: mean.map((m, i) => -m / std[i]) };
    } else {
      this.mean = this.addBuffer('mean', [c], 'zeros');
      this.variance = this.addBuffer('variance', [c], 'ones');
      this.count = this.addBuffer('count', [], 'zeros');
    }
  }

  /** (x - mean) / max(sqrt(variance), {@link Normalization.EPSILON}) per channel. */
  forward(x: Tensor): Tensor {
    this.outputShape(x.shape);
    const c = [this.channels];
    if (this.fixed) return add(mul(x, Tensor.from(this.fixed.scale, c)), Tensor.from(this.fixed.offset, c));
    const eps = Normalization.EPSILON;
    // max(s, eps) = relu(s - eps) + eps
    const std = addScalar(relu(addScalar(sqrt(this.variance!), -eps)), eps);
    return div(sub(x, this.mean!), std);
  }

  override outputShape(input: Shape): number[] {
    if (input[input.length - 1] !== this.channels)
      throw new Error(`ossify: ${this.name} expects ${this.channels} channels last, got ${shapeStr(input)}`);
    return [...input];
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions extends LayerOptions {
  /** The size of the normalized last axis (the channels). */
  channels: number;
  /** Added to the variance (default 1e-3, Keras's; the ops' and PyTorch's default is 1e-5). */
  epsilon?: number;
  /** Learn `gamma` (default true). */
  scale?: boolean;
  /** Learn `beta` (default true). */
  center?: boolean;
}

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions extends LayerNormOptions {
  /** The number of groups (default 32, Keras's); must divide the channels. */
  groups?: number;
}

/** The channels, epsilon and optional weights `gamma`, `beta` [C] shared by {@link LayerNorm} and {@link GroupNorm}. */
abstract class ChannelNorm extends Module {
  readonly channels: number;
  readonly epsilon: number;
  readonly gamma: Tensor | null;
  readonly beta: Tensor | null;

  /** `check`: run on the channels before the weights are made. */
  constructor(opts: LayerNormOptions, autoName: string, check?: (channels: number, name: string) => void) {
    super(opts, autoName);
    this.channels = checkNumber(opts.channels, `${this.name} channels`, { integer: true, min: 1 });
    check?.(this.channels, this.name);
    this.epsilon = checkNumber(withDefault(opts.epsilon, 1e-3), `${this.name} epsilon`, { min: 0 });
    this.gamma = opts.scale === false ? null : this.addWeight('gamma', [this.channels], 'ones');
    this.beta = opts.center === false ? null : this.addWeight('beta', [this.channels], 'zeros');
  }

  override outputShape(input: Shape): number[] {
    if (input[input.length - 1] !== this.channels)
      throw new Error(`ossify: ${this.name} expects ${this.channels} channels last, got ${shapeStr(input)}`);
    return [...input];
  }
}

/** Layer normalization over the last axis (Keras's `LayerNormalization(axis=-1)`), weights `gamma`, `beta` [C]. */
export class LayerNorm extends ChannelNorm {
  readonly kind = 'LayerNormalization';

  constructor(opts: LayerNormOptions) {
    super(opts, 'layer_normalization');
  }

  forward(x: Tensor): Tensor {
    this.outputShape(x.shape);
    return layerNorm(x, this.gamma, this.beta, { epsilon: this.epsilon });
  }
}

/** Group normalization of channels-last maps (Keras's `GroupNormalization`), weights `gamma`, `beta` [C]. */
export class GroupNorm extends ChannelNorm {
  readonly kind = 'GroupNormalization';
  readonly groups: number;

  constructor(opts: GroupNormOptions) {
    let groups = 0;
    super(opts, 'group_normalization', (channels, name) => {
      groups = checkNumber(withDefault(opts.groups, 32), `${name} groups`, { integer: true, min: 1 });
      if (channels % groups !== 0)
        throw new Error(`ossify: ${name} groups (${groups}) must divide its ${channels} channels`);
    });
    this.groups = groups;
  }

  forward(x: Tensor): Tensor {
    this.outputShape(x.shape);
    return groupNorm(x, this.groups, this.gamma, this.beta, { epsilon: this.epsilon });
  }

  override outputShape(input: Shape): number[] {
    if (input.length < 2) throw new Error(`ossify: ${this.name} expects [N, ..., C], got ${shapeStr(input)}`);
    return super.outputShape(input);
  }
}
