/**
 * Keras's LayerNormalization and GroupNormalization layers (weights `gamma`, `beta`; epsilon Keras's 1e-3, the
 * ops' default is PyTorch's 1e-5). Neither keeps running statistics: training and inference agree.
 */
import { shapeStr, type Tensor, type Shape } from '../tensor.js';
import { layerNorm, groupNorm } from '../kernels/norm.js';
import { checkNumber, withDefault } from '../validate.js';
import { Module, type LayerOptions } from './module.js';

/** Keras's default epsilon of LayerNormalization and GroupNormalization. */
export const KERAS_NORM_EPSILON = 1e-3;

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions extends LayerOptions {
  /** The size of the normalized last axis. */
  channels: number;
  /** Added to the variance (default 1e-3, Keras; PyTorch's LayerNorm uses 1e-5). */
  epsilon?: number;
  /** Learn `gamma` (default true). */
  scale?: boolean;
  /** Learn `beta` (default true). */
  center?: boolean;
}

/** Layer normalization over the last axis (Keras's `LayerNormalization(axis=-1)`), weights `gamma`, `beta` [C]. */
export class LayerNorm extends Module {
  readonly kind = 'LayerNormalization';
  readonly channels: number;
  readonly epsilon: number;
  readonly gamma: Tensor | null;
  readonly beta: Tensor | null;

  constructor(opts: LayerNormOptions) {
    super(opts, 'layer_normalization');
    this.channels = checkNumber(opts.channels, `${this.name} channels`, { integer: true, min: 1 });
    this.epsilon = checkNumber(withDefault(opts.epsilon, KERAS_NORM_EPSILON), `${this.name} epsilon`, { min: 0 });
    this.gamma = opts.scale === false ? null : this.addWeight('gamma', [this.channels], 'ones');
    this.beta = opts.center === false ? null : this.addWeight('beta', [this.channels], 'zeros');
  }

  forward(x: Tensor): Tensor {
    this.outputShape(x.shape);
    return layerNorm(x, this.gamma, this.beta, { epsilon: this.epsilon });
  }

  override outputShape(input: Shape): number[] {
    if (input[input.length - 1] !== this.channels)
      throw new Error(`ossify: ${this.name} expects ${this.channels} channels last, got ${shapeStr(input)}`);
    return [...input];
  }
}

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions extends LayerOptions {
  /** The number of channels (the last axis). */
  channels: number;
  /** The number of groups (default 32, Keras's); must divide the channels. */
  groups?: number;
  /** Added to the variance (default 1e-3, Keras; PyTorch's GroupNorm uses 1e-5). */
  epsilon?: number;
  /** Learn `gamma` (default true). */
  scale?: boolean;
  /** Learn `beta` (default true). */
  center?: boolean;
}

/** Group normalization of channels-last maps (Keras's `GroupNormalization`), weights `gamma`, `beta` [C]. */
export class GroupNorm extends Module {
  readonly kind = 'GroupNormalization';
  readonly channels: number;
  readonly groups: number;
  readonly epsilon: number;
  readonly gamma: Tensor | null;
  readonly beta: Tensor | null;

  constructor(opts: GroupNormOptions) {
    super(opts, 'group_normalization');
    this.channels = checkNumber(opts.channels, `${this.name} channels`, { integer: true, min: 1 });
    this.groups = checkNumber(withDefault(opts.groups, 32), `${this.name} groups`, { integer: true, min: 1 });
    if (this.channels % this.groups !== 0)
      throw new Error(`ossify: ${this.name} groups (${this.groups}) must divide its ${this.channels} channels`);
    this.epsilon = checkNumber(withDefault(opts.epsilon, KERAS_NORM_EPSILON), `${this.name} epsilon`, { min: 0 });
    this.gamma = opts.scale === false ? null : this.addWeight('gamma', [this.channels], 'ones');
    this.beta = opts.center === false ? null : this.addWeight('beta', [this.channels], 'zeros');
  }

  forward(x: Tensor): Tensor {
    this.outputShape(x.shape);
    return groupNorm(x, this.groups, this.gamma, this.beta, { epsilon: this.epsilon });
  }

  override outputShape(input: Shape): number[] {
    if (input.length < 2 || input[input.length - 1] !== this.channels)
      throw new Error(
        `ossify: ${this.name} expects [N, ..., ${this.channels}] (channels last), got ${shapeStr(input)}`,
      );
    return [...input];
  }
}
