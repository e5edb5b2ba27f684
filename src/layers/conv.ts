/** Keras's Conv2D on NHWC tensors with an HWIO kernel `[kh, kw, cin / groups, filters]`, and DepthwiseConv2D. */
import type { Tensor, Shape } from '../tensor.js';
import { reshape } from '../kernels/elementwise.js';
import { checkConv2dOptions, conv2d, resolveConvGeometry } from '../kernels/conv2d.js';
import type { Conv2dOptions, Conv2dPadding } from '../kernels/conv2d.js';
import { checkNumber, checkPair, withDefault } from '../validate.js';
import type { Initializer } from '../init.js';
import { Module, type LayerOptions } from './module.js';

/** Options of both convolution layers. */
export interface ConvLayerOptions extends LayerOptions {
  /** Input channels (layers are built eagerly, so this is given rather than inferred). */
  inChannels: number;
  /** Kernel size, square or [kh, kw]. */
  kernelSize: number | readonly [number, number];
  /** Stride (default 1). */
  strides?: number | readonly [number, number];
  /** 'valid' (default), 'same' (TensorFlow's rule: extra row/column bottom/right) or [top, bottom, left, right]. */
  padding?: Conv2dPadding;
  /** Dilation rate (default 1). */
  dilation?: number | readonly [number, number];
  /** Whether to add a bias (Keras default true; InceptionV3, DenseNet and EfficientNet use false). */
  useBias?: boolean;
  /** Bias initialiser (Keras default zeros). */
  biasInitializer?: Initializer;
}

/** Options of {@link Conv2d}. */
export interface Conv2dLayerOptions extends ConvLayerOptions {
  /** Output channels. */
  filters: number;
  /** Channel groups (default 1). */
  groups?: number;
  /** Kernel initialiser (Keras default glorotUniform). */
  kernelInitializer?: Initializer;
}

/** Options of {@link DepthwiseConv2d}. */
export interface DepthwiseConv2dOptions extends ConvLayerOptions {
  /** Output channels per input channel (Keras's `depth_multiplier`, default 1). */
  depthMultiplier?: number;
  /** Kernel initialiser (Keras default glorotUniform). */
  depthwiseInitializer?: Initializer;
}

/** 2-D convolution. Weights: `kernel` [kh, kw, cin / groups, filters], `bias` [filters]. */
export class Conv2d extends Module {
  readonly kind = 'Conv2D';
  readonly kernel: Tensor;
  readonly bias: Tensor | null;
  readonly opts: Conv2dLayerOptions;

  constructor(opts: Conv2dLayerOptions) {
    super(opts, 'conv2d');
    this.opts = opts;
    const [kh, kw] = checkPair(opts.kernelSize, `Conv2d ${this.name} kernelSize`, { integer: true, min: 1 });
    checkNumber(opts.inChannels, `Conv2d ${this.name} inChannels`, { integer: true, min: 1 });
    checkNumber(opts.filters, `Conv2d ${this.name} filters`, { integer: true, min: 1 });
    const { groups } = checkConv2dOptions(this.convOpts(), `Conv2d ${this.name}`);
    if (opts.inChannels % groups !== 0 || opts.filters % groups !== 0)
      throw new Error(
        `ossify: Conv2d ${this.name}: groups=${groups} must divide inChannels=${opts.inChannels} and ` +
          `filters=${opts.filters}`,
      );
    const shape = [kh, kw, opts.inChannels / groups, opts.filters];
    this.kernel = this.addWeight('kernel', shape, opts.kernelInitializer ?? 'glorotUniform');
    this.bias = opts.useBias === false ? null : this.addWeight('bias', [opts.filters], opts.biasInitializer ?? 'zeros');
  }

  /** The kernel-level options of this layer's convolution. */
  convOpts(): Conv2dOptions {
    const o = this.opts;
    return { stride: o.strides, dilation: o.dilation, padding: withDefault(o.padding, 'valid'), groups: o.groups };
  }

  forward(x: Tensor): Tensor {
    return conv2d(x, this.kernel, this.bias, this.convOpts());
  }

  override outputShape(input: Shape): number[] {
    const g = resolveConvGeometry(input, this.kernel.shape, this.convOpts());
    return [g.N, g.OH, g.OW, g.Cout];
  }
}

/**
 * Keras's DepthwiseConv2D: each input channel convolved with its own `depthMultiplier` filters; weights
 * `depthwise_kernel` [kh, kw, inChannels, depthMultiplier] and `bias`. It runs the grouped convolution
 * (groups = inChannels) on the kernel viewed as HWIO [kh, kw, 1, inChannels * depthMultiplier] (no copy).
 */
export class DepthwiseConv2d extends Module {
  readonly kind = 'DepthwiseConv2D';
  /** `depthwise_kernel` [kh, kw, inChannels, depthMultiplier]. */
  readonly depthwiseKernel: Tensor;
  /** `bias` [inChannels * depthMultiplier], or null. */
  readonly bias: Tensor | null;
  /** The options it was built with. */
  readonly opts: DepthwiseConv2dOptions;
  /** inChannels * depthMultiplier. */
  readonly outChannels: number;

  constructor(opts: DepthwiseConv2dOptions) {
    super(opts, 'depthwise_conv2d');
    this.opts = opts;
    const what = `DepthwiseConv2d ${this.name}`;
    const [kh, kw] = checkPair(opts.kernelSize, `${what} kernelSize`, { integer: true, min: 1 });
    const c = checkNumber(opts.inChannels, `${what} inChannels`, { integer: true, min: 1 });
    const m = checkNumber(withDefault(opts.depthMultiplier, 1), `${what} depthMultiplier`, { integer: true, min: 1 });
    checkConv2dOptions(this.convOpts(), what);
    this.outChannels = c * m;
    const init = opts.depthwiseInitializer ?? 'glorotUniform';
    this.depthwiseKernel = this.addWeight('depthwise_kernel', [kh, kw, c, m], init);
    this.bias = opts.useBias === false ? null : this.addWeight('bias', [c * m], opts.biasInitializer ?? 'zeros');
  }

  /** The kernel-level options of this layer's (grouped) convolution. */
  convOpts(): Conv2dOptions {
    const o = this.opts;
    return { stride: o.strides, dilation: o.dilation, padding: withDefault(o.padding, 'valid'), groups: o.inChannels };
  }

  /** The kernel's HWIO view: [kh, kw, 1, inChannels * depthMultiplier]. */
  private hwioShape(): number[] {
    const [kh, kw] = this.depthwiseKernel.shape;
    return [kh, kw, 1, this.outChannels];
  }

  /** The grouped convolution (groups = inChannels) on the kernel's HWIO view. */
  forward(x: Tensor): Tensor {
    return conv2d(x, reshape(this.depthwiseKernel, this.hwioShape()), this.bias, this.convOpts());
  }

  override outputShape(input: Shape): number[] {
    const g = resolveConvGeometry(input, this.hwioShape(), this.convOpts());
    return [g.N, g.OH, g.OW, g.Cout];
  }
}
