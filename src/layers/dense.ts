/** Keras's Dense: y = x kernel + bias with kernel [in, units]. */
import { shapeStr, type Tensor, type Shape } from '../tensor.js';
import { matmul } from '../kernels/matmul.js';
import { add } from '../kernels/elementwise.js';
import type { Initializer } from '../init.js';
import { Module, type LayerOptions } from './module.js';

/** Options of {@link Dense}. */
export interface DenseOptions extends LayerOptions {
  /** Input features. */
  inFeatures: number;
  /** Output features. */
  units: number;
  /** Add a bias (default true). */
  useBias?: boolean;
  /** Kernel initialiser (Keras default glorotUniform). */
  kernelInitializer?: Initializer;
  /** Bias initialiser (Keras default zeros). */
  biasInitializer?: Initializer;
}

/** Fully connected layer on [N, in]. Weights `kernel` [in, units], `bias` [units]. */
export class Dense extends Module {
  readonly kind = 'Dense';
  readonly kernel: Tensor;
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly units: number;

  constructor(opts: DenseOptions) {
    super(opts, 'dense');
    this.inFeatures = opts.inFeatures;
    this.units = opts.units;
    this.kernel = this.addWeight('kernel', [opts.inFeatures, opts.units], opts.kernelInitializer ?? 'glorotUniform');
    this.bias = opts.useBias === false ? null : this.addWeight('bias', [opts.units], opts.biasInitializer ?? 'zeros');
  }

  forward(x: Tensor): Tensor {
    this.outputShape(x.shape);
    const y = matmul(x, this.kernel);
    return this.bias ? add(y, this.bias) : y;
  }

  override outputShape(input: Shape): number[] {
    if (input.length !== 2 || input[1] !== this.inFeatures)
      throw new Error(`ossify: ${this.name} expects [N, ${this.inFeatures}], got ${shapeStr(input)}`);
    return [input[0], this.units];
  }
}

/** PyTorch's name for {@link Dense}. */
export const Linear = Dense;
