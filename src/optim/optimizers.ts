/**
 * Optimizers update parameters in place on the GPU with one fused kernel per parameter tensor, all
 * recorded into the step's submission. State (moments) lives in GPU tensors that `state()` /
 * `loadState()` expose for checkpoints.
 */
import { runtime, type BufferLike } from '../gpu/runtime.js';
import { Tensor, checkTensor, keep, noGrad } from '../tensor.js';
import { checkBoolean, checkNumber, checkOptionalNumber, showValue, withDefault } from '../validate.js';
import adamSrc from '../../shaders/adam.wgsl';
import sgdSrc from '../../shaders/sgd.wgsl';
import type { TensorData } from '../layers/module.js';

/** Learning rates: finite and >= 0 (PyTorch's rule). */
const LR_RANGE = { min: 0 };
/** Moment decays: in [0, 1). */
const DECAY_RANGE = { min: 0, below: 1 };
/** The leak watch: live memory grew at each of this many steps, by this much a step on average. */
const LEAK_WARN_STEPS = 4;
const LEAK_WARN_BYTES_PER_STEP = 64 * 1024;

const UPDATE_SRC = { adam: adamSrc, sgd: sgdSrc };

/** Run an update kernel (shaders/adam.wgsl, sgd.wgsl) over every element of `p`, as vec4s when its size allows. */
function launchUpdate(
  kind: keyof typeof UPDATE_SRC,
  p: Tensor,
  buffers: Record<string, BufferLike>,
  params: Record<string, number>,
): void {
  const stream = { ...params, gscale: 1, n: p.size };
  runtime().dispatchStream(kind, UPDATE_SRC[kind], { param: p.storage, ...buffers }, stream, true);
}

/**
 * Common optimizer behaviour: parameters, learning rate, zeroing gradients, state I/O, and the leak watch
 * (`step()` warns once when live GPU memory grew at each of {@link LEAK_WARN_STEPS} steps in a row).
 */
export abstract class Optimizer {
  /** Number of steps taken. */
  iterations = 0;
  protected slots = new Map<string, Tensor>();
  private lr_ = 0;
  /** The leak watch: live bytes after each recent step, and whether it has warned. */
  private liveAfterStep: number[] = [];
  private leakWarned = false;

  /** `kind` names the optimizer in error messages. */
  constructor(
    readonly params: Tensor[],
    lr: number,
    private readonly kind = 'Optimizer',
  ) {
    if (!Array.isArray(params) || !params.length)
      throw new Error(`ossify: ${kind} needs a non-empty array of parameters, got ${showValue(params)}`);
    params.forEach((p, i) => checkTensor(p, `${kind} parameter ${i}`));
    const names = params.map((p) => p.name).filter((n): n is string => !!n);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new Error(`ossify: two parameters are both named '${dup}'; optimizer state is keyed by name`);
    params.forEach((p, i) => {
      const what = `${kind} parameter ${i} (${p.label()})`;
      const first = params.indexOf(p);
      if (first !== i)
        throw new Error(`ossify: ${what} is parameter ${first} again: each step would update it twice; list it once`);
      if (!p.requiresGrad) {
        throw new Error(
          `ossify: ${what} does not require gradients (requiresGrad is false), so no step would ever update it: ` +
            'set requiresGrad = true, or leave it out (Module.parameters() lists the trainable ones)',
        );
      }
    });
    this.lr = lr;
  }

  /** The learning rate, a finite number >= 0 (schedulers such as ReduceLROnPlateau change it between steps). */
  get lr(): number {
    return this.lr_;
  }
  set lr(v: number) {
    this.lr_ = checkNumber(v, `${this.kind} lr`, LR_RANGE);
  }

  /** A named state tensor of the same shape as parameter i, created as zeros on first use. */
  protected slot(kind: string, i: number): Tensor {
    const key = `${kind}.${this.params[i].name ?? i}`;
    let t = this.slots.get(key);
    if (!t) this.slots.set(key, (t = keep(Tensor.zeros(this.params[i].shape, { persistent: true }))));
    return t;
  }

  /** Apply one update from the parameters' `.grad` (parameters without a gradient are skipped). */
  step(): void {
    this.iterations++;
    noGrad(() => this.params.forEach((p, i) => p.grad && (this.update(p, p.grad, i), p.version++)));
    this.watchLiveMemory();
  }

  private watchLiveMemory(): void {
    if (this.leakWarned) return;
    const live = this.liveAfterStep;
    live.push(runtime().memory().liveBytes);
    if (live.length <= LEAK_WARN_STEPS) return;
    live.shift();
    const growth = live[live.length - 1] - live[0];
    const grewEveryStep = live.every((b, i) => i === 0 || b > live[i - 1]);
    if (!grewEveryStep || growth < LEAK_WARN_BYTES_PER_STEP * LEAK_WARN_STEPS) return;
    this.leakWarned = true;
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
    console.warn(
      `ossify: live GPU memory grew at each of the last ${LEAK_WARN_STEPS} optimizer steps ` +
        `(+${mib(growth / LEAK_WARN_STEPS)} per step, ${mib(live[live.length - 1])} live): ` +
        "the tensors each step makes are not freed. Wrap the step's forward and backward " +
        "in tidy() and return the loss from it, or dispose() every tensor the step creates (README, 'Memory').",
    );
  }

  protected abstract update(p: Tensor, g: Tensor, i: number): void;

  /** Drop every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Host copies of the optimizer state (slots by name plus the iteration count), for checkpoints. */
  async state(): Promise<OptimizerState> {
    const slots = new Map<string, TensorData>();
    for (const [k, t] of this.slots) slots.set(k, { shape: [...t.shape], data: await t.read() });
    return { iterations: this.iterations, slots };
  }

  /** Restore state written by {@link state}. */
  loadState(s: OptimizerState): void {
    this.iterations = s.iterations;
    this.dispose();
    for (const [k, v] of s.slots) this.slots.set(k, keep(Tensor.from(v.data, v.shape)));
  }

  /** Free the state tensors. */
  dispose(): void {
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
  }
}

/** An optimizer's state on the host: the iteration count and the slots (moments) by name. */
export interface OptimizerState {
  iterations: number;
  slots: Map<string, TensorData>;
}

/** Adam options. Defaults follow Keras (epsilon 1e-7); PyTorch uses 1e-8. */
export interface AdamOptions {
  /** Learning rate, >= 0 (default 1e-3). */
  lr?: number;
  /** First-moment decay, in [0, 1) (default 0.9). */
  beta1?: number;
  /** Second-moment decay, in [0, 1) (default 0.999). */
  beta2?: number;
  /** Added to sqrt(v), >= 0 (default 1e-7). */
  epsilon?: number;
  /** Decoupled weight decay (AdamW), >= 0; 0 = plain Adam. Keras AdamW defaults to 0.004, PyTorch to 0.01. */
  weightDecay?: number;
}

/**
 * Adam (Kingma & Ba) in Keras's formulation: the bias correction folds into the step size and epsilon
 * is added to sqrt(v) uncorrected ("epsilon hat"). With `weightDecay` it is AdamW (decoupled decay,
 * p -= lr * wd * p).
 */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  constructor(params: Tensor[], opts: AdamOptions = {}) {
    super(params, withDefault(opts.lr, 1e-3), 'Adam');
    this.beta1 = checkOptionalNumber(opts.beta1, 'Adam beta1', DECAY_RANGE) ?? 0.9;
    this.beta2 = checkOptionalNumber(opts.beta2, 'Adam beta2', DECAY_RANGE) ?? 0.999;
    this.epsilon = checkOptionalNumber(opts.epsilon, 'Adam epsilon', { min: 0 }) ?? 1e-7;
    this.weightDecay = checkOptionalNumber(opts.weightDecay, 'Adam weightDecay', { min: 0 }) ?? 0;
  }
  protected update(p: Tensor, g: Tensor, i: number): void {
    const { beta1: b1, beta2: b2, epsilon: eps, iterations: t } = this;
    const alpha = (this.lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
    const buffers = { grad: g.storage, m: this.slot('m', i).storage, v: this.slot('v', i).storage };
    launchUpdate('adam', p, buffers, { alpha, b1, b2, eps, decay: this.lr * this.weightDecay });
  }
}

/** SGD options (PyTorch formulation of momentum). */
export interface SgdOptions {
  /** Learning rate, >= 0 (default 0.01). */
  lr?: number;
  /** Momentum, in [0, 1) (default 0). */
  momentum?: number;
  /** Nesterov momentum (needs momentum > 0). */
  nesterov?: boolean;
  /** L2 weight decay added to the gradient, >= 0. */
  weightDecay?: number;
}

/** SGD with optional (Nesterov) momentum. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  constructor(params: Tensor[], opts: SgdOptions = {}) {
    super(params, withDefault(opts.lr, 0.01), 'SGD');
    this.momentum = checkOptionalNumber(opts.momentum, 'SGD momentum', DECAY_RANGE) ?? 0;
    this.nesterov = checkBoolean(opts.nesterov, 'SGD nesterov', false);
    if (this.nesterov && this.momentum === 0)
      throw new Error('ossify: SGD nesterov needs a momentum > 0 (as PyTorch); set momentum, e.g. 0.9');
    this.weightDecay = checkOptionalNumber(opts.weightDecay, 'SGD weightDecay', { min: 0 }) ?? 0;
  }
  protected update(p: Tensor, g: Tensor, i: number): void {
    const params = { lr: this.lr, mu: this.momentum, wd: this.weightDecay, nesterov: this.nesterov ? 1 : 0 };
    launchUpdate('sgd', p, { grad: g.storage, buf: this.slot('momentum', i).storage }, params);
  }
}

/** Float64 CPU reference of the Adam update (same formulation), for tests. */
export function adamReference(p: Float64Array, grads: Float64Array[], o: Required<AdamOptions>): Float64Array {
  const w = Float64Array.from(p);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g, s) => {
    const t = s + 1;
    const alpha = (o.lr * Math.sqrt(1 - o.beta2 ** t)) / (1 - o.beta1 ** t);
    for (let i = 0; i < w.length; i++) {
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
      w[i] = w[i] - (alpha * m[i]) / (Math.sqrt(v[i]) + o.epsilon) - o.lr * o.weightDecay * w[i];
    }
  });
  return w;
}

/** Float64 CPU reference of the SGD update, for tests. */
export function sgdReference(p: Float64Array, grads: Float64Array[], o: Required<SgdOptions>): Float64Array {
  const w = Float64Array.from(p);
  const buf = new Float64Array(p.length);
  for (const gr of grads)
    for (let i = 0; i < w.length; i++) {
      const g = gr[i] + o.weightDecay * w[i];
      buf[i] = o.momentum * buf[i] + g;
      w[i] -= o.lr * (o.nesterov ? g + o.momentum * buf[i] : buf[i]);
    }
  return w;
}
