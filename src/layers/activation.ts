/** Keras's Activation layer, and ReLU, Sigmoid and Swish as its fixed forms. */
import { type Tensor } from '../tensor.js';
import * as ops from '../kernels/elementwise.js';
import { checkChoice } from '../validate.js';
import { Module, type LayerOptions } from './module.js';

/** The activations by their Keras names (`gelu` is the exact form; `gelu_tanh` the tanh approximation). */
export const ACTIVATIONS = {
  relu: ops.relu,
  sigmoid: ops.sigmoid,
  tanh: ops.tanh,
  elu: (x: Tensor) => ops.elu(x),
  selu: ops.selu,
  gelu: (x: Tensor) => ops.gelu(x),
  gelu_tanh: (x: Tensor) => ops.gelu(x, { approximate: 'tanh' }),
  swish: ops.swish,
  silu: ops.swish,
  softplus: ops.softplus,
  hard_sigmoid: ops.hardSigmoid,
  hard_swish: ops.hardSwish,
  // keras.activations.leaky_relu's slope 0.2 (Keras's LeakyReLU layer uses 0.3, PyTorch 0.01: use the op).
  leaky_relu: (x: Tensor) => ops.leakyRelu(x, 0.2),
} as const satisfies Record<string, (x: Tensor) => Tensor>;
export type ActivationName = keyof typeof ACTIVATIONS;

/** Options of {@link Activation}. */
export interface ActivationOptions extends LayerOptions {
  /** One of {@link ACTIVATIONS}. */
  activation: ActivationName;
}

/** Keras's `Activation(name)`: an elementwise activation as a layer. */
export class Activation extends Module {
  readonly kind = 'Activation';
  readonly activation: ActivationName;
  constructor(opts: ActivationOptions) {
    super(opts, 'activation');
    const names = Object.keys(ACTIVATIONS) as ActivationName[];
    this.activation = checkChoice(opts.activation, `${this.name} activation`, names);
  }
  forward(x: Tensor): Tensor {
    return ACTIVATIONS[this.activation](x);
  }
}

/** Keras's Activation('relu'). */
export class ReLU extends Activation {
  constructor(opts: LayerOptions = {}) {
    super({ ...opts, activation: 'relu' });
  }
}

/** Keras's Activation('sigmoid'). */
export class Sigmoid extends Activation {
  constructor(opts: LayerOptions = {}) {
    super({ ...opts, activation: 'sigmoid' });
  }
}

/** Keras's Activation('swish'): x * sigmoid(x) (SiLU), EfficientNet's activation. */
export class Swish extends Activation {
  constructor(opts: LayerOptions = {}) {
    super({ ...opts, activation: 'swish' });
  }
}
