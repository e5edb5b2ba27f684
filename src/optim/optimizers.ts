/**
 * Optimizers update parameters in place on the GPU with one fused kernel per parameter tensor; all
 * updates of a step are recorded into the same submission. State (moments) lives in GPU tensors that
 * `state()` / `loadState()` expose for checkpoints.
 */
import { runtime } from '../gpu/runtime.js';
import { Tensor, keep, noGrad } from '../tensor.js';
import adamSrc from '../../shaders/adam.wgsl';
import sgdSrc from '../../shaders/sgd.wgsl';
import { fillTemplate } from '../gpu/wgsl.js';
import type { BufferLike } from '../gpu/runtime.js';

/** Launch a per-element update kernel over `p`, as vec4s when its size allows, several per invocation (shaders/adam.wgsl). */
function launchUpdate(name: string, src: string, p: Tensor, bindings: Record<string, BufferLike>, params: Record<string, number>): void {
  const rt = runtime();
  const vec = p.size % 4 === 0;
  const n = vec ? p.size / 4 : p.size;
  rt.dispatchStream(name, fillTemplate(src, { T: vec ? 'vec4<f32>' : 'f32' }), bindings, { ...params, n });
}

/** Common optimizer behaviour: the parameter list, the learning rate, zeroing gradients, state I/O. */
export abstract class Optimizer {
  /** The learning rate (schedulers such as ReduceLROnPlateau change it between steps). */
  lr: number;
  /** Number of steps taken. */
  iterations = 0;
  protected slots = new Map<string, Tensor>();

  constructor(readonly params: Tensor[], lr: number) {
    if (!params.length) throw new Error('ossify: optimizer got no parameters');
    const names = params.map((p) => p.name).filter((n): n is string => !!n);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new Error(`ossify: two parameters are both named '${dup}'; optimizer state is keyed by name`);
    this.lr = lr;
  }

  /** A named state tensor of the same shape as parameter i, created as zeros on first use. */
  protected slot(kind: string, i: number): Tensor {
    const key = `${kind}.${this.params[i].name ?? i}`;
    let t = this.slots.get(key);
    if (!t) {
      t = keep(Tensor.zeros(this.params[i].shape, { persistent: true }));
      this.slots.set(key, t);
    }
    return t;
  }

  /** Apply one update from the parameters' `.grad` (parameters without a gradient are skipped). */
  step(): void {
    this.iterations++;
    noGrad(() => this.params.forEach((p, i) => p.grad && this.update(p, p.grad, i)));
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
  async state(): Promise<{ iterations: number; slots: Map<string, { shape: number[]; data: Float32Array }> }> {
    const slots = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of this.slots) slots.set(k, { shape: [...t.shape], data: await t.read() });
    return { iterations: this.iterations, slots };
  }

  /** Restore state written by {@link state}. */
  loadState(s: { iterations: number; slots: Map<string, { shape: number[]; data: Float32Array }> }): void {
    this.iterations = s.iterations;
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
    for (const [k, v] of s.slots) this.slots.set(k, keep(Tensor.from(v.data, v.shape)));
  }

  /** Free the state tensors. */
  dispose(): void {
    for (const t of this.slots.values()) t.dispose();
    this.slots.clear();
  }
}

/** Adam options. Defaults follow Keras (epsilon 1e-7); PyTorch uses 1e-8. */
export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay (AdamW); 0 = plain Adam. Keras AdamW defaults to 0.004, PyTorch to 0.01. */
  weightDecay?: number;
}

/**
 * Adam (Kingma & Ba) in Keras's formulation: the bias correction folds into the step size and epsilon
 * is added to sqrt(v) uncorrected ("epsilon hat"). With `weightDecay` it is AdamW (decoupled decay,
 * p -= lr * wd * p).
 */
export class Adam extends Optimizer {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  constructor(params: Tensor[], opts: AdamOptions = {}) {
    super(params, opts.lr ?? 1e-3);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-7;
    this.weightDecay = opts.weightDecay ?? 0;
  }
  protected update(p: Tensor, g: Tensor, i: number): void {
    const t = this.iterations;
    const alpha = (this.lr * Math.sqrt(1 - this.beta2 ** t)) / (1 - this.beta1 ** t);
    launchUpdate('adam', adamSrc, p, { param: p.storage, grad: g.storage, m: this.slot('m', i).storage, v: this.slot('v', i).storage }, { alpha, b1: this.beta1, b2: this.beta2, eps: this.epsilon, decay: this.lr * this.weightDecay, gscale: 1 });
  }
}

/** SGD options (PyTorch formulation of momentum). */
export interface SgdOptions {
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  /** L2 weight decay added to the gradient. */
  weightDecay?: number;
}

/** SGD with optional (Nesterov) momentum. */
export class SGD extends Optimizer {
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  constructor(params: Tensor[], opts: SgdOptions = {}) {
    super(params, opts.lr ?? 0.01);
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
  }
  protected update(p: Tensor, g: Tensor, i: number): void {
    launchUpdate('sgd', sgdSrc, p, { param: p.storage, grad: g.storage, buf: this.slot('momentum', i).storage }, { lr: this.lr, mu: this.momentum, wd: this.weightDecay, nesterov: this.nesterov ? 1 : 0, gscale: 1 });
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

