/**
 * Tensors: a shape over a reference-counted GPU storage, plus the bookkeeping autograd needs.
 *
 * Memory: every tensor created inside {@link tidy} is disposed when it returns (except what it returns);
 * `dispose()` or `using` frees one at once. Views (reshape) and autograd's saved activations share the
 * storage and keep it alive by reference count, so disposing a handle never pulls data from under them.
 *
 * Image layout is NHWC (channels last) throughout: implicit-GEMM convolution then reads the reduction
 * dimension (kh, kw, cin) with cin contiguous, and the weights [kh, kw, cin, cout] are a plain row-major
 * K x N matrix, which gives coalesced loads on GPUs. It is also Keras's layout, so weights port as is.
 */
import { runtime, type BufferLike } from './gpu/runtime.js';
import { fillTemplate } from './gpu/wgsl.js';
import fillSrc from '../shaders/fill.wgsl';

/** Element type. Only f32 is stored today. */
export type DType = 'f32';
export type Shape = readonly number[];

/** Reference-counted GPU memory shared by a tensor and its views. */
export class Storage implements BufferLike {
  refs = 1;
  constructor(readonly buffer: GPUBuffer, readonly byteSize: number, private readonly owner: BufferLike) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) runtime().release(this.owner);
  }
}

/** How a tensor was made, for reverse-mode autograd. */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  /** Maps the output's gradient to one gradient per input (null where an input needs none). */
  backward: (grad: Tensor) => (Tensor | null)[];
  /** Aliases of the activations `backward` reads, freed once the node has run. */
  saved: Tensor[];
  /**
   * Live references: the output's handle (until disposed) plus one per consuming node. When it drops
   * to 0 nothing can run this node's backward any more, so its saved activations are freed, and with
   * them its references to its inputs' nodes.
   */
  users: number;
  /** Set once the saved activations are freed (after backward ran it, or when it became unreachable). */
  freed?: boolean;
}

let nextId = 1;
const scopes: Set<Tensor>[] = [];
let gradEnabled = true;

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** A dense f32 tensor on the GPU. */
export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly size: number;
  readonly dtype: DType = 'f32';
  /** Whether gradients flow to (or through) this tensor. */
  requiresGrad = false;
  /** The accumulated gradient of a leaf tensor after `backward()`. */
  grad: Tensor | null = null;
  /** The op that produced it (null for leaves). */
  node: GradNode | null = null;
  /** True once a `backward()` has consumed the graph that produced it (its saved activations are freed). */
  graphConsumed = false;
  /** An optional name (parameters carry theirs). */
  name?: string;
  private storage_: Storage | null;

  constructor(shape: Shape, storage: Storage, opts: { track?: boolean } = {}) {
    for (const d of shape) if (!Number.isInteger(d) || d < 1) throw new Error(`ossify: bad shape ${shapeStr(shape)}: every dimension must be a positive integer`);
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
    this.storage_ = storage;
    if (opts.track !== false) scopes[scopes.length - 1]?.add(this);
  }

  /** The storage; throws if the tensor was disposed. */
  get storage(): Storage {
    if (!this.storage_) throw new Error(`ossify: tensor #${this.id} ${shapeStr(this.shape)}${this.name ? ` (${this.name})` : ''} was used after dispose()`);
    return this.storage_;
  }
  get disposed(): boolean {
    return this.storage_ === null;
  }
  get rank(): number {
    return this.shape.length;
  }

  /**
   * An uninitialised tensor (poisoned with NaN when `setPoison(true)`, as tests do); `persistent`:
   * allocated at its exact size, as in {@link Tensor.from}.
   */
  static empty(shape: Shape, opts: { persistent?: boolean } = {}): Tensor {
    const n = numel(shape);
    const owner = runtime().alloc(n * 4, { exact: opts.persistent });
    const t = new Tensor(shape, new Storage(owner.buffer, owner.byteSize, owner));
    if (poison) fillBuffer(t.storage, NaN, t.size);
    return t;
  }

  /**
   * A tensor holding `data` (row-major). `persistent` allocates it at its exact size instead of a
   * pooled size class: for tensors that live as long as a model (weights, optimizer state).
   */
  static from(data: ArrayLike<number>, shape?: Shape, opts: { requiresGrad?: boolean; name?: string; persistent?: boolean } = {}): Tensor {
    const s = shape ?? [data.length];
    if (numel(s) !== data.length) throw new Error(`ossify: ${data.length} values cannot fill shape ${shapeStr(s)} (${numel(s)} elements)`);
    const t = Tensor.emptyNoPoison(s, opts.persistent);
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    runtime().upload(t.storage, f32);
    t.requiresGrad = opts.requiresGrad ?? false;
    if (opts.name) t.name = opts.name;
    return t;
  }

  /** A tensor filled with one value (`persistent`: allocated at its exact size, as in {@link Tensor.from}). */
  static full(shape: Shape, value: number, opts: { persistent?: boolean } = {}): Tensor {
    const t = Tensor.emptyNoPoison(shape, opts.persistent);
    fillBuffer(t.storage, value, t.size);
    return t;
  }
  static zeros(shape: Shape, opts: { persistent?: boolean } = {}): Tensor {
    return Tensor.full(shape, 0, opts);
  }
  static ones(shape: Shape, opts: { persistent?: boolean } = {}): Tensor {
    return Tensor.full(shape, 1, opts);
  }

  private static emptyNoPoison(shape: Shape, exact = false): Tensor {
    const owner = runtime().alloc(numel(shape) * 4, { exact });
    return new Tensor(shape, new Storage(owner.buffer, owner.byteSize, owner));
  }

  /** Copy the values back to the CPU. */
  async read(): Promise<Float32Array> {
    return new Float32Array(await runtime().download(this.storage, this.size * 4));
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`ossify: item() needs one element, tensor has shape ${shapeStr(this.shape)}`);
    return (await this.read())[0];
  }

  /** A new handle on the same storage, optionally with another shape of the same size (a view, no copy). */
  alias(shape: Shape = this.shape): Tensor {
    if (numel(shape) !== this.size) throw new Error(`ossify: cannot view ${shapeStr(this.shape)} as ${shapeStr(shape)}`);
    return new Tensor(shape, this.storage.retain());
  }

  /** Free this handle's reference to the GPU memory (idempotent). */
  dispose(): void {
    if (!this.storage_) return;
    const s = this.storage_;
    this.storage_ = null;
    s.release();
    scopes[scopes.length - 1]?.delete(this);
    // The graph behind this handle goes too, unless other outputs still depend on it (or backward
    // still will: it holds references while it runs). The node stays attached for backward's walk.
    if (this.node) dropNode(this.node);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return `Tensor#${this.id}${shapeStr(this.shape)}${this.name ? ` ${this.name}` : ''}`;
  }
}

let poison = false;
/** Tests: fill every newly allocated, uninitialised tensor with NaN so that unwritten elements show. */
export function setPoison(on: boolean): void {
  poison = on;
}

/** Fill `n` floats of a storage with a value (a GPU dispatch, ordered with other work). */
export function fillBuffer(dst: BufferLike, value: number, n: number): void {
  const rt = runtime();
  const vec = n % 4 === 0;
  const bits = new Uint32Array(new Float32Array([value]).buffer)[0];
  rt.dispatchStream('fill', fillTemplate(fillSrc, { T: vec ? 'vec4<u32>' : 'u32' }), { out: dst }, { n: vec ? n / 4 : n, bits });
}

// ---- scopes -----------------------------------------------------------------------------------

type Returned = Tensor | Tensor[] | Record<string, unknown> | void | number | unknown;

function collect(result: unknown, into: Set<Tensor>): void {
  if (result instanceof Tensor) into.add(result);
  else if (Array.isArray(result)) for (const r of result) collect(r, into);
  else if (result && typeof result === 'object' && Object.getPrototypeOf(result) === Object.prototype) for (const v of Object.values(result)) collect(v, into);
}

function reachableNodes(roots: Iterable<Tensor>): Set<GradNode> {
  const seen = new Set<GradNode>();
  const stack = [...roots];
  while (stack.length) {
    const t = stack.pop()!;
    if (t.node && !seen.has(t.node)) {
      seen.add(t.node);
      stack.push(...t.node.inputs);
    }
  }
  return seen;
}

/**
 * Run `fn` and dispose every tensor it created, except the tensors it returns (found in a returned
 * tensor, array or plain object), which move to the enclosing scope. Autograd graphs that the returned
 * tensors still depend on are kept; others are freed with their saved activations.
 */
export function tidy<T extends Returned>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) throw new Error('ossify: tidy() takes a synchronous function; await outside it');
  const keep = new Set<Tensor>();
  collect(result, keep);
  const live = reachableNodes(keep);
  for (const t of scope) {
    if (keep.has(t)) {
      scopes[scopes.length - 1]?.add(t);
      continue;
    }
    if (t.node && !live.has(t.node)) releaseNode(t);
    t.dispose();
  }
  return result;
}

/** Take a tensor out of the enclosing {@link tidy} scope so that it outlives it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

/** Free a tensor's autograd node and its saved activations (whoever else still references it). */
export function releaseNode(t: Tensor): void {
  const n = t.node;
  if (!n) return;
  t.node = null;
  freeNode(n);
}

/** Drop one reference to a node; the last one frees it. */
export function dropNode(n: GradNode): void {
  if (!n.freed && --n.users <= 0) freeNode(n);
}

function freeNode(n: GradNode): void {
  if (n.freed) return;
  n.freed = true;
  for (const s of n.saved) s.dispose();
  n.saved.length = 0;
  for (const i of n.inputs) if (i.node) dropNode(i.node);
}

// ---- grad mode --------------------------------------------------------------------------------

/** Whether ops currently record autograd nodes. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run `fn` without recording autograd (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}
