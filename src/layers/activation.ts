/** Keras's Activation layer for the activations of issue #25 (ReLU and Sigmoid keep their own layers). */
import { type Tensor } from '../tensor.js';
import {
  elu,
  gelu,
  hardSigmoid,
  hardSwish,
  leakyRelu,
  relu,
  selu,
  sigmoid,
  softplus,
  swish,
  tanh,
} from '../kernels/elementwise.js';
import { checkChoice } from '../validate.js';
import { Module, type LayerOptions } from './module.js';

/** The activations by their Keras names (`gelu` is the exact form; `gelu_tanh` the tanh approximation). */
export const ACTIVATIONS = {
  relu: (x: Tensor) => relu(x),
  sigmoid: (x: Tensor) => sigmoid(x),
  tanh: (x: Tensor) => tanh(x),
  elu: (x: Tensor) => elu(x),
  selu: (x: Tensor) => selu(x),
  gelu: (x: Tensor) => gelu(x),
  gelu_tanh: (x: Tensor) => gelu(x, { approximate: 'tanh' }),
  swish: (x: Tensor) => swish(x),
  silu: (x: Tensor) => swish(x),
  softplus: (x: Tensor) => softplus(x),
  hard_sigmoid: (x: Tensor) => hardSigmoid(x),
  hard_swish: (x: Tensor) => hardSwish(x),
  // keras.activations.leaky_relu's slope 0.2 (Keras's LeakyReLU layer uses 0.3, PyTorch 0.01: use the op).
  leaky_relu: (x: Tensor) => leakyRelu(x, 0.2),
} as const;
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
    this.activation = checkChoice(
      opts.activation,
      `${this.name} activation`,
      Object.keys(ACTIVATIONS) as ActivationName[],
    );
  }
  forward(x: Tensor): Tensor {
    return ACTIVATIONS[this.activation](x);
  }
}
