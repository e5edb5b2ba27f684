/**
 * A classification model: a backbone (top-level layers, BAM modules inserted after named ones) and a head
 * (GlobalAveragePooling2D, optional Dropout, Dense logits); its JSON `config` rebuilds it (`buildModel`).
 */
import { shapeStr, type Tensor, type Shape } from '../tensor.js';
import { Module, buildScope } from '../layers/module.js';
import { Concat, Sequential } from '../layers/containers.js';
import { Dense } from '../layers/dense.js';
import { Dropout, GlobalAvgPool2d } from '../layers/basic.js';
import { BAM, bamOptions, type BamOptions } from '../layers/bam.js';
import { compilePlan, type Plan, type PlanOptions } from '../layers/plan.js';
import { entryOf, type Architecture, type CatalogEntry } from './catalog.js';
import { checkNumber } from '../validate.js';

export type { Architecture } from './catalog.js';

/** Where BAM modules go, and their options. */
export interface BamPlacement extends BamOptions {
  /** Names of the top-level layers that BAM follows (default: the architecture's three positions). */
  positions?: string[];
}

/** Options shared by the model builders. */
export interface ModelOptions {
  /** Output classes (logits; softmax lives in the loss). */
  numClasses: number;
  /** Square input size (default and minimum: the model's catalog entry). */
  inputSize?: number;
  /** Input channels (default 3, as the ImageNet weights expect; replicate grey X-rays). */
  inputChannels?: number;
  /** BAM modules: true for the default positions and options, or a placement with options. */
  bam?: boolean | BamPlacement;
  /** Dropout rate before the classifier (default: the catalog entry's, else 0). */
  dropout?: number;
  /** Scales every channel count (max(1, round(c * w))); 1 is the Keras architecture. */
  widthMultiplier?: number;
  /** Initialisation seed (default 0). */
  seed?: number;
  /** EfficientNets only: Keras's `drop_connect_rate` (default 0.2; block b of B drops at dropConnect * b / B). */
  dropConnect?: number;
  /**
   * EfficientNetB1 only: Keras's `weights='imagenet'` graph, with a Rescaling by 1 / sqrt(ImageNet std) after the
   * Normalization (`rescaling_1`, tensorflow/tensorflow#49930), for Keras's ImageNet weights; default false.
   */
  imagenetWeights?: boolean;
}

/** A complete, JSON-able model description: {@link ModelOptions} with its defaults filled in. */
export interface ModelConfig {
  arch: Architecture;
  numClasses: number;
  inputSize: number;
  inputChannels: number;
  /** null: no BAM. */
  bam: (Required<BamOptions> & { positions: string[] }) | null;
  dropout: number;
  widthMultiplier: number;
  seed: number;
  /** The EfficientNets' stochastic depth rate (absent for the other architectures). */
  dropConnect?: number;
  /** EfficientNetB1 built as Keras's `weights='imagenet'` graph (absent: false). */
  imagenetWeights?: boolean;
}

/** Fill in {@link ModelOptions}' defaults from `arch`'s catalog entry; `aliases` map BAM positions to layer names. */
export function resolveConfig(
  arch: Architecture,
  opts: ModelOptions,
  aliases: Record<string, string> = {},
): ModelConfig {
  const defaults: CatalogEntry = entryOf(arch);
  const what = (option: string) => `${arch}: ${option}`;
  checkNumber(opts.numClasses, what('numClasses'), { integer: true, min: 1 });
  const size = { integer: true, min: defaults.minInput };
  const inputSize = checkNumber(opts.inputSize ?? defaults.inputSize, what('inputSize'), size);
  const w = checkNumber(opts.widthMultiplier ?? 1, what('widthMultiplier'), { above: 0 });
  const dropout = checkNumber(opts.dropout ?? defaults.dropout ?? 0, what('dropout'), { min: 0, below: 1 });
  const dropConnect = opts.dropConnect ?? defaults.dropConnect;
  if (dropConnect !== undefined && defaults.dropConnect === undefined)
    throw new Error(`ossify: ${arch} has no stochastic depth: leave dropConnect out`);
  if (dropConnect !== undefined) checkNumber(dropConnect, what('dropConnect'), { min: 0, below: 1 });
  const inputChannels = opts.inputChannels ?? 3;
  if (opts.imagenetWeights && arch !== 'efficientNetB1')
    throw new Error(`ossify: ${arch}: imagenetWeights changes EfficientNetB1's graph only; leave it out`);
  if (opts.imagenetWeights && inputChannels !== 3)
    throw new Error(`ossify: ${arch}: imagenetWeights needs 3 input channels, got ${inputChannels}`);
  let bam: ModelConfig['bam'] = null;
  if (opts.bam) {
    const p: BamPlacement = opts.bam === true ? {} : opts.bam;
    const positions = (p.positions ?? defaults.bamPositions).map((n) => aliases[n] ?? n);
    bam = { ...bamOptions(p), positions };
  }
  return {
    arch,
    numClasses: opts.numClasses,
    inputSize,
    inputChannels,
    bam,
    dropout,
    widthMultiplier: w,
    seed: opts.seed ?? 0,
    ...(dropConnect === undefined ? {} : { dropConnect }),
    ...(opts.imagenetWeights ? { imagenetWeights: true } : {}),
  };
}

/** A built branch and its output channels (the Inception builders' unit). */
export interface Branch {
  m: Module;
  out: number;
}

/** Branches on one input side by side: their Concat named `name` (automatic if undefined), and its channels. */
export function concatBranches(name: string | undefined, parts: Branch[]): Branch {
  return {
    m: new Concat(
      parts.map((p) => p.m),
      { name },
    ),
    out: parts.reduce((s, p) => s + p.out, 0),
  };
}

/** Build `arch`'s model: its config (BAM position `aliases`), then in one build scope the backbone and the head. */
export function buildClassifier(
  arch: Architecture,
  opts: ModelOptions,
  backbone: (config: ModelConfig) => Module[],
  aliases?: Record<string, string>,
): Model {
  const config = resolveConfig(arch, opts, aliases);
  return buildScope({ seed: config.seed }, () => new Model(entryOf(arch).modelName, config, backbone(config)));
}

/** A built classifier. Its direct children are the backbone's top-level layers, then the head. */
export class Model extends Sequential {
  override readonly kind = 'Model';
  /** Everything needed to rebuild it (`buildModel(model.config)`). */
  readonly config: ModelConfig;

  /**
   * Assemble a model from backbone layers: BAM modules after the named positions, then the classification head
   * named `head` (default: as `config.arch`'s catalog entry says). Call it inside the `buildScope` that built the
   * backbone (for names and seed).
   */
  constructor(name: string, config: ModelConfig, backbone: Module[], head = entryOf(config.arch).head) {
    super(backbone, { name });
    this.config = config;
    try {
      // Channels at each top-level position, by structural shape inference.
      let s: number[] = [1, config.inputSize, config.inputSize, config.inputChannels];
      const channels = new Map<string, number>();
      for (const l of backbone) {
        s = l.outputShape(s);
        channels.set(l.name, s[3]);
      }
      if (config.bam) {
        const { positions, ...options } = config.bam;
        if (new Set(positions).size !== positions.length)
          throw new Error(`ossify: ${name}: BAM positions repeat: ${positions.join(', ')}`);
        for (const pos of positions) {
          const c = channels.get(pos);
          if (c === undefined)
            throw new Error(
              `ossify: ${name}: no BAM position '${pos}'; positions are the top-level layer names: ` +
                `${[...channels.keys()].join(', ')}`,
            );
          this.insertAfter(pos, new BAM({ name: `bam_${pos}`, channels: c, ...options }));
        }
      }
      this.add(new GlobalAvgPool2d());
      if (config.dropout > 0) this.add(new Dropout({ rate: config.dropout }));
      this.add(new Dense({ name: head, inFeatures: s[3], units: config.numClasses }));
    } catch (e) {
      this.dispose(); // free the weights built so far
      throw e;
    }
  }

  /** The expected input shape [H, W, C]. */
  get inputShape(): [number, number, number] {
    return [this.config.inputSize, this.config.inputSize, this.config.inputChannels];
  }

  /** Logits [N, numClasses] for NHWC images [N, H, W, C] (any spatial size the network accepts). */
  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    return super.forward(x);
  }

  /**
   * Inference logits without autograd, in the model's current mode (call `eval()` first), through the inference
   * {@link plan} for x's shape and `fuse`.
   */
  predict(x: Tensor, opts: { fuse?: boolean } = {}): Tensor {
    this.checkInput(x);
    return this.plan(x.shape, opts).run(x);
  }

  /**
   * A training forward (autograd records it; call `train()` first for batch statistics) through the training
   * {@link plan} for x's shape: {@link forward}'s values, gradients and moving statistics in fewer launches.
   */
  forwardTrain(x: Tensor, opts: { fuse?: boolean } = {}): Tensor {
    this.checkInput(x);
    return this.plan(x.shape, { ...opts, mode: 'train' }).run(x);
  }

  /** The model's plan for inputs of `shape` ({@link compilePlan}), compiled once and kept while it holds. */
  plan(shape: Shape, opts: PlanOptions = {}): Plan {
    for (const [k, p] of this.plans) {
      if (p.holds()) continue;
      p.dispose();
      this.plans.delete(k);
    }
    const key = `${opts.mode ?? 'infer'} ${opts.fuse ?? true} ${shape.join('x')}`;
    return this.plans.get(key) ?? this.plans.set(key, compilePlan(this, shape, opts)).get(key)!;
  }
  private readonly plans = new Map<string, Plan>();

  override dispose(): void {
    this.plans.forEach((p) => p.dispose());
    this.plans.clear();
    super.dispose();
  }

  private checkInput(x: Tensor): void {
    if (x.rank !== 4 || x.shape[3] !== this.config.inputChannels)
      throw new Error(
        `ossify: ${this.name} takes NHWC images with ${this.config.inputChannels} channels, got ${shapeStr(x.shape)}`,
      );
  }
}
