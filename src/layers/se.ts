/** Squeeze-and-excitation (Hu et al. 2018) as Keras's EfficientNet blocks build it. */
import { shapeStr, type Tensor, type Shape } from '../tensor.js';
import { mul } from '../kernels/elementwise.js';
import { checkNumber, withDefault } from '../validate.js';
import type { Initializer } from '../init.js';
import { Module, type LayerOptions, type TraceVisitor } from './module.js';
import { Conv2d } from './conv.js';
import { GlobalAvgPool2d, Reshape } from './basic.js';
import { Sigmoid, Swish } from './activation.js';
import { Sequential } from './containers.js';

/** Options of {@link SqueezeExcite}. */
export interface SqueezeExciteOptions extends LayerOptions {
  /** Channels of the input (and of the gate). */
  channels: number;
  /** Channels of the squeezed layer (EfficientNet: max(1, floor(block input filters * 0.25))). */
  seChannels: number;
  /** Keras layer name prefix (`block2a_`: `block2a_se_squeeze`, ... `block2a_se_excite`); default `<name>_`. */
  prefix?: string;
  /** Kernel initialiser of both convolutions (Keras's Conv2D default glorotUniform; EfficientNet heNormalFanOut). */
  kernelInitializer?: Initializer;
}

/**
 * Squeeze-and-excitation: global average pool (`se_squeeze`) -> Reshape [N, 1, 1, C] (`se_reshape`) -> 1x1 conv
 * C -> Cse, swish (`se_reduce`) -> 1x1 conv Cse -> C, sigmoid (`se_expand`) -> the input times the gate,
 * broadcast over H and W (`se_excite`, its summary row).
 */
export class SqueezeExcite extends Module {
  readonly kind = 'Multiply';
  readonly channels: number;
  /** The gate: [N, H, W, C] -> [N, 1, 1, C] in (0, 1). */
  readonly gate: Sequential;

  constructor(opts: SqueezeExciteOptions) {
    super(opts.name || opts.prefix === undefined ? opts : { name: `${opts.prefix}se_excite` }, 'squeeze_excite');
    const c = checkNumber(opts.channels, `${this.name} channels`, { integer: true, min: 1 });
    const cse = checkNumber(opts.seChannels, `${this.name} seChannels`, { integer: true, min: 1 });
    this.channels = c;
    const p = withDefault(opts.prefix, `${this.name}_`);
    const kernelInitializer = opts.kernelInitializer ?? 'glorotUniform';
    const conv = (name: string, inChannels: number, filters: number) =>
      new Conv2d({ name, inChannels, filters, kernelSize: 1, padding: 'same', kernelInitializer });
    // Keras's Conv2D(activation=...) is one layer: the activations are hidden from summaries.
    const hidden = <M extends Module>(m: M): M => ((m.hidden = true), m);
    this.gate = this.addChild(
      new Sequential(
        [
          new GlobalAvgPool2d({ name: `${p}se_squeeze` }),
          new Reshape({ name: `${p}se_reshape`, targetShape: [1, 1, c] }),
          conv(`${p}se_reduce`, c, cse),
          hidden(new Swish({ name: `${p}se_reduce_swish` })),
          conv(`${p}se_expand`, cse, c),
          hidden(new Sigmoid({ name: `${p}se_expand_sigmoid` })),
        ],
        { name: `${p}se` },
      ),
    );
  }

  forward(x: Tensor): Tensor {
    this.outputShape(x.shape);
    return mul(x, this.gate.forward(x));
  }

  override trace(input: Shape, visit: TraceVisitor): number[] {
    this.gate.trace(input, visit);
    const out = this.outputShape(input);
    visit(this, input, out);
    return out;
  }

  override outputShape(input: Shape): number[] {
    if (input.length !== 4 || input[3] !== this.channels)
      throw new Error(`ossify: ${this.name} expects NHWC with ${this.channels} channels, got ${shapeStr(input)}`);
    return [...input];
  }
}
