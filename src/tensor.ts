/**
 * Tensors: a shape over a reference-counted GPU storage, plus the bookkeeping autograd needs. Tensors
 * made inside {@link tidy} are disposed when it returns (except what it returns); views and autograd's
 * saved activations share the storage by reference count. Images are NHWC (Keras's layout), which
 * makes convolution weights [kh, kw, cin, cout] a plain row-major K x N matrix.
 */
import { runtime, type BufferLike, type Runtime } from './gpu/runtime.js';
import { checkChoice, checkShape, showValue } from './validate.js';
import fillSrc from '../shaders/fill.wgsl';

/**
 * Element type: `'f32'` (what every differentiable op computes in) or `'int32'` (labels and indices,
 * made by `argmax`/`argmin` and `cast`; ops that do not take it refuse it by name).
 */
export type DType = 'f32' | 'int32';
const DTYPES: readonly DType[] = ['f32', 'int32'];
/** A tensor's dimensions, outermost first (images are NHWC, convolution filters HWIO). */
export type Shape = readonly number[];
/** How to allocate a tensor: `persistent` takes its exact size (for tensors that live as long as a model). */
export type TensorOptions = { persistent?: boolean; dtype?: DType };
const isInt32 = (v: number): boolean => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;

/**
 * Reference-counted GPU memory shared by a tensor and its views, returned to the runtime that allocated it.
 * A class, not a spread record: one fixed object shape keeps the per-op accesses fast (a record made
 * `allocate`, `alias` and `dispose` about 10x slower in a training step's JavaScript).
 */
export class Storage implements BufferLike {
  refs = 1;
  readonly buffer: GPUBuffer;
  readonly byteSize: number;
  constructor(
    owner: BufferLike,
    readonly runtime: Runtime,
  ) {
    this.buffer = owner.buffer;
    this.byteSize = owner.byteSize;
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
  /** Live references: the output's handle (until disposed) plus one per consuming node; at 0 it is freed. */
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

/** A dense f32 (or int32) tensor on the GPU. */
export class Tensor {
  readonly id = nextId++;
  readonly shape: Shape;
  readonly size: number;
  /** Element type (f32 unless made as int32: labels, indices, argmax's result). */
  readonly dtype: DType;
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
  /** Bumped by whoever rewrites a parameter's values in place (optimizer steps): see Module.version. */
  version = 0;
  private storage_: Storage | null;

  constructor(shape: Shape, storage: Storage, dtype: DType = 'f32') {
    this.shape = Object.freeze([...checkShape(shape, 'tensor shape')]);
    this.size = numel(shape);
    this.dtype = dtype;
    this.storage_ = storage;
    scopes[scopes.length - 1]?.add(this);
  }

  /** The storage; throws, naming the tensor, if it was disposed or its runtime was shut down. */
  get storage(): Storage {
    const s = this.storage_;
    if (s && !s.runtime.destroyed) return s;
    throw new Error(`ossify: ${this.label()} ${this.unusableReason()}`);
  }

  /** Why this tensor cannot be used (disposed, or its runtime shut down), or null when it can. */
  unusableReason(): string | null {
    const s = this.storage_;
    if (!s) {
      return (
        'was used after dispose(), or after the tidy() that made it returned: ' +
        'return it from the tidy() or keep() it to use it later'
      );
    }
    if (!s.runtime.destroyed) return null;
    return (
      'belongs to a runtime that shutdown() destroyed: ' +
      'tensors do not outlive their runtime; create it again after init()'
    );
  }

  /** "tensor #12 [2, 3] (name)": how errors name it (int32 tensors say so: "tensor #12 int32 [2, 3]"). */
  label(): string {
    const type = this.dtype === 'f32' ? '' : `${this.dtype} `;
    return `tensor #${this.id} ${type}${shapeStr(this.shape)}${this.name ? ` (${this.name})` : ''}`;
  }
  /** True once disposed (a tensor whose runtime was shut down is not: see {@link Tensor.unusableReason}). */
  get disposed(): boolean {
    return this.storage_ === null;
  }
  get rank(): number {
    return this.shape.length;
  }

  /** An uninitialised tensor (NaN after `setPoison(true)`). */
  static empty(shape: Shape, opts: TensorOptions = {}): Tensor {
    const t = Tensor.allocate(shape, opts.persistent, checkDType(opts.dtype));
    if (poison) fillBuffer(t.storage, NaN, t.size);
    return t;
  }

  /** A tensor holding `data` (row-major); `dtype: 'int32'` (or Int32Array data) cannot require gradients. */
  static from(
    data: ArrayLike<number>,
    shape?: Shape,
    opts: TensorOptions & { requiresGrad?: boolean; name?: string } = {},
  ): Tensor {
    if (typeof data !== 'object' || data === null || typeof data.length !== 'number')
      throw new Error(`ossify: Tensor.from data must be an array of numbers, got ${showValue(data)}`);
    const s = checkShape(shape ?? [data.length], 'Tensor.from shape');
    if (numel(s) !== data.length)
      throw new Error(`ossify: ${data.length} values cannot fill shape ${shapeStr(s)} (${numel(s)} elements)`);
    const dtype = checkDType(opts.dtype ?? (data instanceof Int32Array ? 'int32' : 'f32'));
    if (dtype === 'int32' && opts.requiresGrad)
      throw new Error(`ossify: Tensor.from: an int32 tensor cannot require gradients (only f32 tensors can)`);
    const Type = dtype === 'int32' ? Int32Array : Float32Array;
    const bits = data instanceof Type ? data : Type.from(data);
    // Int32Array.from wraps or truncates what is not an int32: a value it changed was not one.
    const bad = dtype === 'int32' && bits !== data ? bits.findIndex((v, i) => v !== data[i]) : -1;
    if (bad >= 0) {
      const got = `${showValue(data[bad])} at index ${bad}`;
      throw new Error(`ossify: Tensor.from int32 data must be integers in [-2^31, 2^31), got ${got}`);
    }
    const t = Tensor.allocate(s, opts.persistent, dtype);
    runtime().upload(t.storage, bits);
    t.requiresGrad = opts.requiresGrad ?? false;
    if (opts.name) t.name = opts.name;
    return t;
  }

  /** A tensor filled with one value. */
  static full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
    const dtype = checkDType(opts.dtype);
    if (typeof value !== 'number' || (dtype === 'int32' && !isInt32(value))) {
      const want = dtype === 'int32' ? 'an integer in [-2^31, 2^31)' : 'a number';
      throw new Error(`ossify: Tensor.full value must be ${want}, got ${showValue(value)}`);
    }
    const t = Tensor.allocate(shape, opts.persistent, dtype);
    fillBuffer(t.storage, value, t.size, dtype);
    return t;
  }
  static zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 0, opts);
  }
  static ones(shape: Shape, opts: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 1, opts);
  }

  /** An uninitialised tensor; the shape is checked before anything is allocated. */
  private static allocate(shape: Shape, exact = false, dtype: DType = 'f32'): Tensor {
    checkShape(shape, 'tensor shape');
    const rt = runtime();
    let owner: BufferLike;
    try {
      owner = rt.alloc(numel(shape) * 4, { exact });
    } catch (e) {
      // A lost device is not this tensor's problem: say it as the runtime does, once for every call.
      if (rt.lost) throw e;
      throw new Error(`ossify: tensor shape ${shapeStr(shape)}: ${(e as Error).message.replace(/^ossify: /, '')}`);
    }
    return new Tensor(shape, new Storage(owner, rt), dtype);
  }

  /** Copy the values back to the CPU, as floats (int32 values exactly up to 2^24; see {@link Tensor.readInt32}). */
  async read(): Promise<Float32Array> {
    const bytes = await runtime().download(this.storage, this.size * 4);
    return this.dtype === 'int32' ? Float32Array.from(new Int32Array(bytes)) : new Float32Array(bytes);
  }

  /** Copy an int32 tensor's values back to the CPU (an f32 tensor is refused: cast it first). */
  async readInt32(): Promise<Int32Array> {
    if (this.dtype !== 'int32')
      throw new Error(`ossify: readInt32() reads int32 tensors; ${this.label()} is ${this.dtype}: use read()`);
    return new Int32Array(await runtime().download(this.storage, this.size * 4));
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`ossify: item() needs one element, tensor has shape ${shapeStr(this.shape)}`);
    return (await this.read())[0];
  }

  /** A new handle on the same storage, optionally with another shape of the same size (a view, no copy). */
  alias(shape: Shape = this.shape): Tensor {
    if (numel(shape) !== this.size)
      throw new Error(`ossify: cannot view ${shapeStr(this.shape)} as ${shapeStr(shape)}`);
    const s = this.storage;
    s.refs++;
    return new Tensor(shape, s, this.dtype);
  }

  /** Free this handle's reference to the GPU memory (idempotent). */
  dispose(): void {
    const s = this.storage_;
    if (!s) return;
    this.storage_ = null;
    if (--s.refs === 0) s.runtime.release(s);
    scopes[scopes.length - 1]?.delete(this);
    // The graph behind it goes too unless others still use it; the node stays attached for backward's walk.
    if (this.node) dropNode(this.node);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    return this.label();
  }
}

let poison = false;
/** Tests: fill every newly allocated, uninitialised tensor with NaN so that unwritten elements show. */
export function setPoison(on: boolean): void {
  poison = on;
}

/** `v` if it is a dtype ossify stores (undefined: f32). */
export function checkDType(v: unknown, what = 'dtype'): DType {
  return v === undefined ? 'f32' : checkChoice(v, what, DTYPES);
}

/** Fill `n` elements of a storage with a value (a GPU dispatch, ordered with other work). */
export function fillBuffer(dst: BufferLike, value: number, n: number, dtype: DType = 'f32'): void {
  const bits = dtype === 'int32' ? value >>> 0 : new Uint32Array(new Float32Array([value]).buffer)[0];
  runtime().dispatchStream('fill', fillSrc, { out: dst }, { n, bits }, true);
}

// ---- scopes -----------------------------------------------------------------------------------

type Returned = Tensor | Tensor[] | Record<string, unknown> | void | number | unknown;

function collect(result: unknown, into: Set<Tensor>): void {
  if (result instanceof Tensor) into.add(result);
  else if (Array.isArray(result)) for (const r of result) collect(r, into);
  else if (result && typeof result === 'object' && Object.getPrototypeOf(result) === Object.prototype)
    for (const v of Object.values(result)) collect(v, into);
}

/**
 * Run `fn` and dispose every tensor it created, except those it returns (in a tensor, array or plain
 * object), which move to the enclosing scope with the autograd graphs they depend on (graph nodes are
 * reference-counted). If `fn` throws, everything it created is disposed.
 */
export function tidy<T extends Returned>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error('ossify: tidy() takes a synchronous function; await outside it');
  }
  // Most ops return one tensor: no set of returned tensors to build.
  const returned = result instanceof Tensor ? null : new Set<Tensor>();
  if (returned) collect(result, returned);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (returned ? returned.has(t) : t === result) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** `v` if it is a usable tensor; otherwise an Error naming `what`, the value and the problem. */
export function checkTensor(v: unknown, what: string): Tensor {
  if (!(v instanceof Tensor)) throw new Error(`ossify: ${what} must be a Tensor, got ${showValue(v)}`);
  const why = v.unusableReason();
  if (why) throw new Error(`ossify: ${what}: ${v.label()} ${why}`);
  return v;
}

/** Refuse a tensor of another element type than an op argument takes, saying how to convert it. */
function checkTensorType(t: Tensor, what: string, want: DType | 'any'): void {
  if (want === 'any' || t.dtype === want) return;
  const fix = want === 'f32' ? `cast(x, 'f32') converts one` : `cast(x, 'int32') converts one (truncating)`;
  const an = want === 'int32' ? 'an' : 'a';
  throw new Error(`ossify: ${what} must be ${an} ${want} tensor, got ${t.label()} (${t.dtype}): ${fix}`);
}

/**
 * Define a public op. Its tensor arguments are checked by position and name first (`'x'`: a tensor;
 * `'bias?'`: optional; `'tensors[]'`: a non-empty array; `''`: unchecked), f32 unless the name says
 * `:int32` or `:any`. `fn` runs in a scope of its own: what it creates and does not return is disposed.
 */
export function defineOp<A extends unknown[], R>(
  name: string,
  args: readonly string[],
  fn: (...a: A) => R,
): (...a: A) => R {
  const specs = args.map((a) => {
    const [base, type = 'f32'] = a.split(':');
    return {
      name: base.replace(/\?|\[\]/g, ''),
      optional: base.endsWith('?'),
      list: base.endsWith('[]'),
      dtype: type as DType | 'any',
    };
  });
  const op = (...a: A): R => {
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i];
      const v = a[i];
      if (!s.name || (s.optional && (v === null || v === undefined))) continue;
      const what = `${name} argument ${s.name}`;
      if (!s.list) checkTensorType(checkTensor(v, what), what, s.dtype);
      else if (!Array.isArray(v) || v.length === 0) {
        throw new Error(`ossify: ${what} must be a non-empty array of tensors, got ${showValue(v)}`);
      } else v.forEach((t, j) => checkTensorType(checkTensor(t, `${what}[${j}]`), `${what}[${j}]`, s.dtype));
    }
    return tidy(() => fn(...a));
  };
  Object.defineProperty(op, 'name', { value: name });
  return op;
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
function dropNode(n: GradNode): void {
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
