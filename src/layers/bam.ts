/**
 * BAM, the Bottleneck Attention Module (Park, Woo, Lee, Kweon, BMVC 2018, arXiv:1807.06514).
 * Channel gate Mc [N, C]: global average pool -> Dense C->C/r -> BN -> ReLU -> Dense C/r->C. Spatial gate
 * Ms [N, H, W, 1]: 1x1 conv C->C/r -> BN -> ReLU -> `numDilated` x [3x3 conv, dilation and padding d -> BN ->
 * ReLU] -> 1x1 conv C/r->1. Output: x * (1 + sigmoid(Mc + Ms)) ('sum', the paper) or of Mc * Ms ('product',
 * the official code, github.com/Jongchan/attention-module), broadcast over [N, H, W, C] (kernels/bam.ts).
 * `finalBN` adds the paper's BN at the end of each gate (the official code has none). Its BNs follow the
 * host's Keras convention (PyTorch's defaults: `bnMomentum: 0.9, bnEpsilon: 1e-5`). Weight keys use the
 * official code's module names under `<name>/` (`gate_c_fc_0`, `gate_s_conv_di_<i>`, ...).
 */
import { shapeStr, type Tensor, type Shape } from '../tensor.js';
import { bamCombine } from '../kernels/bam.js';
import { Module, type LayerOptions } from './module.js';
import { Sequential } from './containers.js';
import { Conv2d, type Conv2dLayerOptions } from './conv.js';
import { Dense } from './dense.js';
import { BATCH_NORM_DEFAULTS, BatchNorm1d, BatchNorm2d } from './norm.js';
import { GlobalAvgPool2d } from './basic.js';
import { ReLU } from './activation.js';

/** BAM's hyper-parameters (all optional; defaults as the official code). */
export interface BamOptions {
  /** Channel reduction ratio r (default 16): the gates' hidden width is max(1, floor(C / r)). */
  reduction?: number;
  /** Dilation of the spatial gate's 3x3 convolutions (default 4); their padding equals it. */
  dilation?: number;
  /** Number of dilated 3x3 convolutions (default 2). */
  numDilated?: number;
  /** How the gates combine: 'sum' (paper, default) or 'product' (official code). */
  combine?: 'sum' | 'product';
  /** BN at the end of each gate (paper: true; official code: false, the default). */
  finalBN?: boolean;
  /** Keras momentum of BAM's BN layers (default: BATCH_NORM_DEFAULTS's). */
  bnMomentum?: number;
  /** Epsilon of BAM's BN layers (default: BATCH_NORM_DEFAULTS's). */
  bnEpsilon?: number;
}

/** The defaults of {@link BamOptions}. */
const BAM_DEFAULTS: Required<BamOptions> = {
  reduction: 16,
  dilation: 4,
  numDilated: 2,
  combine: 'sum',
  finalBN: false,
  bnMomentum: BATCH_NORM_DEFAULTS.momentum,
  bnEpsilon: BATCH_NORM_DEFAULTS.epsilon,
};

/** `opts`' BAM options, `BAM_DEFAULTS` where left out. */
export function bamOptions(opts: BamOptions): Required<BamOptions> {
  const given = Object.entries(opts).filter(([k, v]) => Object.hasOwn(BAM_DEFAULTS, k) && v !== undefined);
  return { ...BAM_DEFAULTS, ...Object.fromEntries(given) };
}

/** A BAM module on NHWC maps of `channels` channels (output shape = input shape). */
export class BAM extends Module {
  readonly kind = 'BAM';
  readonly channels: number;
  readonly reducedChannels: number;
  readonly options: Required<BamOptions>;
  readonly channelGate: Sequential;
  readonly spatialGate: Sequential;

  constructor(opts: LayerOptions & BamOptions & { channels: number }) {
    super(opts, 'bam');
    const o = (this.options = bamOptions(opts));
    const C = opts.channels;
    const Cr = Math.max(1, Math.floor(C / o.reduction));
    this.channels = C;
    this.reducedChannels = Cr;
    const n = (s: string) => `${this.name}/${s}`;
    const bn = { momentum: o.bnMomentum, epsilon: o.bnEpsilon };

    const ch: Module[] = [
      new GlobalAvgPool2d({ name: n('gate_c_avgpool') }),
      new Dense({ name: n('gate_c_fc_0'), inFeatures: C, units: Cr }),
      new BatchNorm1d({ name: n('gate_c_bn_1'), channels: Cr, ...bn }),
      new ReLU({ name: n('gate_c_relu_1') }),
      new Dense({ name: n('gate_c_fc_final'), inFeatures: Cr, units: C }),
    ];
    if (o.finalBN) ch.push(new BatchNorm1d({ name: n('gate_c_bn_final'), channels: C, ...bn }));
    this.channelGate = this.addChild(new Sequential(ch, { name: n('channel_gate') }));

    /** `gate_s_conv_<s>` -> `gate_s_bn_<s>` -> `gate_s_relu_<s>` to Cr channels. */
    const convBnRelu = (
      s: string,
      inChannels: number,
      more: Pick<Conv2dLayerOptions, 'kernelSize' | 'dilation' | 'padding'>,
    ) => [
      new Conv2d({ name: n(`gate_s_conv_${s}`), inChannels, filters: Cr, ...more }),
      new BatchNorm2d({ name: n(`gate_s_bn_${s}`), channels: Cr, ...bn }),
      new ReLU({ name: n(`gate_s_relu_${s}`) }),
    ];
    const d = o.dilation;
    const sp: Module[] = convBnRelu('reduce0', C, { kernelSize: 1 });
    for (let i = 0; i < o.numDilated; i++)
      sp.push(...convBnRelu(`di_${i}`, Cr, { kernelSize: 3, dilation: d, padding: [d, d, d, d] }));
    sp.push(new Conv2d({ name: n('gate_s_conv_final'), inChannels: Cr, filters: 1, kernelSize: 1 }));
    if (o.finalBN) sp.push(new BatchNorm2d({ name: n('gate_s_bn_final'), channels: 1, ...bn }));
    this.spatialGate = this.addChild(new Sequential(sp, { name: n('spatial_gate') }));
  }

  forward(x: Tensor): Tensor {
    this.outputShape(x.shape);
    const mc = this.channelGate.forward(x);
    const ms = this.spatialGate.forward(x);
    return bamCombine(x, mc, ms, this.options.combine);
  }

  override outputShape(input: Shape): number[] {
    if (input.length !== 4 || input[3] !== this.channels)
      throw new Error(`ossify: ${this.name} expects NHWC with ${this.channels} channels, got ${shapeStr(input)}`);
    return [...input];
  }
}
