/**
 * Keras's LayerNormalization and GroupNormalization layers (weights `gamma`, `beta`; epsilon Keras's 1e-3, the
 * ops' default is PyTorch's 1e-5). Neither keeps running statistics: training and inference agree.
 */
import { shapeStr, type Tensor, type Shape } from '../tensor.js';
import { layerNorm, groupNorm } from '../kernels/norm.js';
import { checkNumber, withDefault } from '../validate.js';
import { Module, type LayerOptions } from './module.js';

/** Keras's default epsilon of LayerNormalization and GroupNormalization. */
const KERAS_NORM_EPSILON = 1e-3;

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions extends LayerOptions {
  /** The size of the normalized last axis (the channels). */
  channels: number;
  /** Added to the variance (default 1e-3, Keras; PyTorch's norms use 1e-5). */
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

/** The channels, epsilon and optional `gamma`, `beta` [C] both layers share. */
abstract class ChannelNorm extends Module {
  readonly channels: number;
  readonly epsilon: number;
  readonly gamma: Tensor | null;
  readonly beta: Tensor | null;

  constructor(opts: LayerNormOptions, autoName: string, check?: (channels: number, name: string) => void) {
    super(opts, autoName);
    this.channels = checkNumber(opts.channels, `${this.name} channels`, { integer: true, min: 1 });
    check?.(this.channels, this.name);
    this.epsilon = checkNumber(withDefault(opts.epsilon, KERAS_NORM_EPSILON), `${this.name} epsilon`, { min: 0 });
    this.gamma = opts.scale === false ? null : this.addWeight('gamma', [this.channels], 'ones');
    this.beta = opts.center === false ? null : this.addWeight('beta', [this.channels], 'zeros');
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

  override outputShape(input: Shape): number[] {
    if (input[input.length - 1] !== this.channels)
      throw new Error(`ossify: ${this.name} expects ${this.channels} channels last, got ${shapeStr(input)}`);
    return [...input];
  }
}

/** Group normalization of channels-last maps (Keras's `GroupNormalization`), weights `gamma`, `beta` [C]. */
export class GroupNorm extends ChannelNorm {
  readonly kind = 'GroupNormalization';
  readonly groups: number;

  constructor(opts: GroupNormOptions) {
    let groups = 0;
    // The groups are checked before the weights are made.
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
    if (input.length < 2 || input[input.length - 1] !== this.channels)
      throw new Error(
        `ossify: ${this.name} expects [N, ..., ${this.channels}] (channels last), got ${shapeStr(input)}`,
      );
    return [...input];
  }
}
