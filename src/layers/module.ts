/**
 * The layer base class: named parameters and buffers, child modules, train/eval and freeze, state dicts,
 * structural shape inference. Names follow Keras so that `.h5` weights import by name: each layer has a
 * unique name (given, or Keras's automatic `conv2d`, `conv2d_1`, ... from the current {@link buildScope}) and
 * a weight's key is `<layer_name>.<weight>` (`kernel`, `gamma`, `moving_mean`, ...); containers add no prefix.
 */
import { Tensor, noGrad, shapeStr, type Shape } from '../tensor.js';
import { runtime } from '../gpu/runtime.js';
import { hashSeed, initValues, type Initializer } from '../init.js';

/** Host copy of one tensor. */
export interface TensorData {
  shape: number[];
  data: Float32Array;
}
/** Parameters and buffers by key (`<layer_name>.<weight>`). */
export type StateDict = Record<string, TensorData>;

/** Build scopes: the automatic-name counts per base name, and the initialisation seed. */
type Scope = { names: Map<string, number>; seed: number };
const scopeStack: Scope[] = [{ names: new Map(), seed: 0 }];
const currentScope = (): Scope => scopeStack[scopeStack.length - 1];

/** Keras's automatic layer names: `base`, `base_1`, ... counted per base name in the current scope. */
function nextName(base: string): string {
  const names = currentScope().names;
  const n = names.get(base) ?? 0;
  names.set(base, n + 1);
  return n === 0 ? base : `${base}_${n}`;
}

/** The seed of the current {@link buildScope} (0 outside any). */
export function scopeSeed(): number {
  return currentScope().seed;
}

/**
 * Build layers with their own automatic-name counters (from `conv2d`) and initialisation seed; outside any
 * scope, layers share one process-wide counter (as Keras's session does) and seed 0.
 */
export function buildScope<T>(opts: { seed?: number }, fn: () => T): T {
  scopeStack.push({ names: new Map(), seed: opts.seed ?? 0 });
  try {
    return fn();
  } finally {
    scopeStack.pop();
  }
}

/** Options every layer takes. */
export interface LayerOptions {
  /** The layer's name (default: Keras's automatic name for its type). */
  name?: string;
}

/** Called for each module during shape inference: the module, its input and output shapes. */
export type TraceVisitor = (m: Module, input: Shape, output: Shape) => void;

/** Parameter counts in Keras's sense (non-trainable = buffers + frozen weights). */
export interface ParamCount {
  total: number;
  trainable: number;
  nonTrainable: number;
}

/** Base class of layers and containers. */
export abstract class Module {
  readonly name: string;
  /** The Keras class name shown by summaries (`Conv2D`, `BatchNormalization`, ...). */
  abstract readonly kind: string;
  /** Training mode (batch statistics in BN, active dropout); see {@link train} and {@link eval}. */
  training = true;
  /** False after {@link freeze}: weights get no gradients and BatchNorm runs in inference mode (Keras). */
  trainable = true;
  /** Hidden modules (identity branches) are left out of summaries. */
  hidden = false;
  protected readonly weights = new Map<string, Tensor>();
  protected readonly buffers = new Map<string, Tensor>();
  protected readonly children: Module[] = [];

  constructor(opts: LayerOptions, autoName: string) {
    this.name = opts.name ?? nextName(autoName);
  }

  /** The forward pass. */
  abstract forward(x: Tensor): Tensor;

  /** Output shape for an input shape (batch dimension included); identity by default. */
  outputShape(input: Shape): number[] {
    return [...input];
  }

  /** Shape inference without computing: visits this module (and a container's children, in order) with its shapes. */
  trace(input: Shape, visit: TraceVisitor): number[] {
    const out = this.outputShape(input);
    visit(this, input, out);
    return out;
  }

  /** Create a trainable weight `<name>.<weight>`, initialised from the scope's seed and its key. */
  protected addWeight(weight: string, shape: number[], init: Initializer): Tensor {
    return this.addTensor(this.weights, weight, shape, init, hashSeed(currentScope().seed, `${this.name}.${weight}`));
  }

  /** Create a non-trainable buffer `<name>.<weight>` (BatchNorm's moving statistics), initialised with seed 0. */
  protected addBuffer(weight: string, shape: number[], init: Initializer): Tensor {
    return this.addTensor(this.buffers, weight, shape, init, 0);
  }

  /** A persistent tensor `<name>.<weight>` kept in `to`, the weights (trainable unless frozen) or the buffers. */
  private addTensor(to: Map<string, Tensor>, weight: string, shape: number[], init: Initializer, seed: number): Tensor {
    const name = `${this.name}.${weight}`;
    const opts = { requiresGrad: to === this.weights && this.trainable, name, persistent: true };
    const t = Tensor.from(initValues(init, shape, seed), shape, opts);
    to.set(weight, t);
    return t;
  }

  protected addChild<M extends Module>(m: M): M {
    this.children.push(m);
    this.touch();
    return m;
  }

  private ownVersion = 0;
  /** Mark this module changed (values, mode or structure): what was derived from it (inference plans) is stale. */
  touch(): void {
    this.ownVersion++;
  }

  /**
   * Moves whenever this module or a descendant changes ({@link touch}: structure, modes, loaded weights, moving
   * statistics; optimizer steps bump their parameters' `version`). Inference plans hold for one version.
   */
  get version(): number {
    let v = 0;
    for (const m of this.modules()) {
      v += m.ownVersion;
      for (const t of m.weights.values()) v += t.version;
    }
    return v;
  }

  /** This module and every descendant, depth first in execution order. */
  *modules(): Generator<Module> {
    yield this;
    for (const c of this.children) yield* c.modules();
  }

  /** The direct children. */
  childModules(): readonly Module[] {
    return this.children;
  }

  /** The descendant (or this module) named `name` (Keras's `get_layer`); throws if none. */
  getLayer(name: string): Module {
    for (const m of this.modules()) if (m.name === name) return m;
    throw new Error(`ossify: no layer named '${name}' in ${this.name}`);
  }

  /** Every learnable weight (frozen ones included) as [key, tensor], keys `<layer_name>.<weight>`. */
  namedParameters(): [string, Tensor][] {
    return [...this.modules()].flatMap((m) => [...m.weights].map(([w, t]): [string, Tensor] => [`${m.name}.${w}`, t]));
  }

  /** The trainable weights (not frozen): what an optimizer updates. */
  parameters(): Tensor[] {
    return this.namedParameters().flatMap(([, t]) => (t.requiresGrad ? [t] : []));
  }

  /** Every buffer (BatchNorm moving statistics) as [key, tensor]. */
  namedBuffers(): [string, Tensor][] {
    return [...this.modules()].flatMap((m) => [...m.buffers].map(([w, t]): [string, Tensor] => [`${m.name}.${w}`, t]));
  }

  /** Parameter counts as Keras reports them. */
  countParams(): ParamCount {
    const trainable = this.parameters().reduce((s, t) => s + t.size, 0);
    const total = [...this.namedParameters(), ...this.namedBuffers()].reduce((s, [, t]) => s + t.size, 0);
    return { total, trainable, nonTrainable: total - trainable };
  }

  /** Training mode for this module and its descendants. */
  train(on = true): this {
    for (const m of this.modules()) {
      if (m.training !== on) m.touch();
      m.training = on;
    }
    return this;
  }

  /** Inference mode (BN uses moving statistics, dropout is off). */
  eval(): this {
    return this.train(false);
  }

  /**
   * Keras's `trainable = False` on this module and its descendants: weights stop requiring gradients (theirs
   * are dropped) and BatchNorm layers use and keep their moving statistics even in training.
   */
  freeze(): this {
    return this.setTrainable(false);
  }

  /** Undo {@link freeze} for this module and its descendants. */
  unfreeze(): this {
    return this.setTrainable(true);
  }

  private setTrainable(on: boolean): this {
    for (const m of this.modules()) {
      m.touch();
      m.trainable = on;
      for (const t of m.weights.values()) t.requiresGrad = on;
    }
    if (!on) this.zeroGrad();
    return this;
  }

  /** Drop every parameter's gradient. */
  zeroGrad(): void {
    for (const [, t] of this.namedParameters()) {
      t.grad?.dispose();
      t.grad = null;
    }
  }

  /** Copy every parameter and buffer to the host, by key. */
  async stateDict(): Promise<StateDict> {
    const entries = [...this.namedParameters(), ...this.namedBuffers()];
    const datas = await Promise.all(entries.map(([, t]) => t.read()));
    const sd: StateDict = {};
    entries.forEach(([k, t], i) => (sd[k] = { shape: [...t.shape], data: datas[i] }));
    return sd;
  }

  /**
   * Write values into the existing parameters and buffers (tensors, and so optimizer state, are kept). Shapes
   * must match; with `strict` (default) missing and unexpected keys are errors too, else returned.
   */
  loadStateDict(sd: StateDict, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const own = new Map([...this.namedParameters(), ...this.namedBuffers()]);
    const missing = [...own.keys()].filter((k) => !(k in sd));
    const unexpected = Object.keys(sd).filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of own) {
      const e = sd[k];
      if (!e) continue;
      if (!(e.shape.length === t.shape.length && e.shape.every((d, i) => d === t.shape[i])))
        mismatched.push(`'${k}': the state dict has shape ${shapeStr(e.shape)}, the model has ${shapeStr(t.shape)}`);
      else if (e.data.length !== t.size)
        mismatched.push(`'${k}': ${e.data.length} values for shape ${shapeStr(e.shape)} (${t.size} elements)`);
    }
    const kinds: [string[], string][] = [[mismatched, 'shape mismatches']];
    if (opts.strict ?? true) {
      const missingText = missing.map((k) => `missing key '${k}' (model shape ${shapeStr(own.get(k)!.shape)})`);
      const unexpectedText = unexpected.map(
        (k) => `unexpected key '${k}' (shape ${shapeStr(sd[k].shape)}) not in the model`,
      );
      kinds.push([missingText, 'missing keys'], [unexpectedText, 'unexpected keys']);
    }
    // A state dict of another model can differ in every tensor: show a few of each kind, count the rest.
    const problems = kinds.flatMap(([list, what]) =>
      list.length > 4 ? [...list.slice(0, 4), `... ${list.length - 4} more ${what} (${list.length} in all)`] : list,
    );
    if (problems.length) throw new Error(`ossify: loadStateDict into ${this.name} failed:\n  ${problems.join('\n  ')}`);
    const rt = runtime();
    for (const [k, t] of own) {
      const e = sd[k];
      if (e) rt.upload(t.storage, e.data instanceof Float32Array ? e.data : Float32Array.from(e.data));
    }
    this.touch();
    return { missing, unexpected };
  }

  /** Free every parameter, gradient and buffer of this module and its descendants. */
  dispose(): void {
    noGrad(() => {
      for (const m of this.modules()) {
        for (const t of [...m.weights.values(), ...m.buffers.values()]) {
          t.grad?.dispose();
          t.grad = null;
          t.dispose();
        }
      }
    });
  }

  toString(): string {
    return `${this.kind}(${this.name})`;
  }
}
