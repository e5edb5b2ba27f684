/**
 * The GPU runtime: buffers, pipelines and command recording; it knows nothing of tensors or math.
 * Buffers come from a pool bucketed by size class. Pipelines are cached by WGSL source and override
 * constants, their bind-group layouts reflected from the WGSL (wgsl_reflect). Dispatches are recorded
 * into one open compute pass and submitted in batches, their uniforms in a per-batch arena.
 */
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { acquireDevice, type AcquireOptions, type DeviceInfo } from './device.js';
import { fillTemplate, vecSource, vecWidth } from './wgsl.js';
import { checkNumber } from '../validate.js';
import streamSrc from '../../shaders/stream.wgsl';

// GPUBufferUsage is a global only after Dawn's globals are installed: the spec's numeric values.
const STORAGE_USAGE = 0x0080 /* STORAGE */ | 0x0004 /* COPY_SRC */ | 0x0008; /* COPY_DST */
const UNIFORM_ALIGN = 256;
const ARENA_CHUNK = 64 * 1024;
/** Dispatches per submit: the device starts on a step while the rest is recorded (bench/LAB.md #17). */
const MAX_PENDING_DISPATCHES = 256;
/** Elements per invocation of a streaming kernel, a grid's width apart (bench/LAB.md #51). */
const STREAM_PER_INVOCATION = 4;
/** Timed passes per query set (a training run of InceptionV3 creates 100-200 kernels). */
const TIMESTAMPS_PER_SET = 512;
/** The pool keeps at most this many free bytes; beyond it, freed buffers are destroyed. */
const POOL_CAP_BYTES = 2 ** 31;
/** Bind groups kept (a training step of InceptionV3 or DenseNet121 records 1,500-3,000 dispatches). */
const BIND_GROUP_CACHE = 16384;

/** Round a byte size up to its pool size class: 4 classes per power of two. */
export function sizeClass(bytes: number): number {
  const b = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (b <= 256) return 256;
  const step = 2 ** Math.floor(Math.log2(b)) / 4;
  return Math.ceil(b / step) * step;
}

/** Byte counters the pool keeps; `live` is what tensors hold, `pooled` what waits for reuse. */
export interface MemoryStats {
  liveBytes: number;
  peakLiveBytes: number;
  pooledBytes: number;
  /** live + pooled: what the GPU actually holds for us. */
  allocatedBytes: number;
  peakAllocatedBytes: number;
  liveBuffers: number;
}

/**
 * What compiling kernels has cost this runtime. Most adapters compile a pipeline when it is created;
 * lavapipe compiles it on its first run, so there the compile time is that of the first dispatches,
 * each timed by GPU timestamps around a pass of its own.
 */
export interface CompileStats {
  /** Pipelines created (distinct WGSL sources and override constants). */
  pipelines: number;
  /** Distinct WGSL sources among them. */
  sources: number;
  /** Milliseconds spent in `createComputePipeline` (on lavapipe mostly waiting for its queue). */
  createMs: number;
  /** Milliseconds the GPU spent on the first dispatch of each kernel, where timestamps are granted. */
  firstDispatchMs: number;
  /** Whether this adapter compiles a pipeline when it first runs rather than when it is created. */
  compilesOnFirstRun: boolean;
  /** The compile time: `firstDispatchMs` where the adapter compiles on first run, else `createMs`. */
  compileMs: number;
  /** Per kernel label: pipelines, creation and first-dispatch milliseconds. */
  byLabel: { label: string; pipelines: number; createMs: number; firstDispatchMs: number }[];
}

/** A uniform struct member as flattened scalar slots; a derived reciprocal names the field it is 1 / of. */
type UniformField = { name: string; offset: number; kind: 'u32' | 'i32' | 'f32'; count: number; from?: string };
type Binding = { binding: number; kind: 'storage' | 'read-only-storage' | 'uniform' };
type ReflectedMember = {
  name: string;
  offset: number;
  type: { name: string; format?: { name: string }; count?: number };
};
type Slot = { buffer: GPUBuffer; offset: number; view: DataView };
/** A query set of begin/end timestamp pairs, each pair's milliseconds handed to its callback once read. */
type TimestampSet = { set: GPUQuerySet; onMs: ((ms: number) => void)[] };
/** A running profile: dispatches still to time, and GPU milliseconds and counts by label. */
type Profile = { left: number; detail: boolean; byLabel: Map<string, { ms: number; count: number }> };

let kernelCount = 0;

/** A compiled compute kernel whose bindings are known by name. */
export class Kernel {
  /** Distinct per kernel (part of the runtime's bind-group cache key). */
  readonly id = kernelCount++;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly bindings = new Map<string, Binding>();
  /** Bytes of the uniform struct (0: the kernel has none). */
  readonly uniformSize: number = 0;
  readonly fields = new Map<string, UniformField>();
  /** The fields a dispatch sets, and the reciprocals derived from others (see {@link Kernel.pack}). */
  private readonly given: UniformField[] = [];
  private readonly derived: UniformField[] = [];
  /** Milliseconds `createComputePipeline` took. */
  readonly createMs: number;
  /** Milliseconds the queue took for its first dispatch (compile + run); 0 until measured. */
  firstDispatchMs = 0;
  dispatched = false;
  constructor(
    readonly label: string,
    device: GPUDevice,
    code: string,
    constants: Record<string, number>,
  ) {
    const reflect = new WgslReflect(code);
    const entries: GPUBindGroupLayoutEntry[] = [];
    const bind = (name: string, binding: number, kind: Binding['kind']): void => {
      this.bindings.set(name, { binding, kind });
      entries.push({ binding, visibility: 4 /* COMPUTE */, buffer: { type: kind } });
    };
    for (const s of reflect.storage) bind(s.name, s.binding, s.access === 'read' ? 'read-only-storage' : 'storage');
    if (reflect.uniforms.length > 1) throw new Error(`${label}: a kernel takes at most one uniform struct`);
    for (const u of reflect.uniforms) {
      this.uniformSize = Math.ceil(u.size / 16) * 16;
      bind(u.name, u.binding, 'uniform');
      for (const { name, offset, type: t } of (u.type as unknown as { members: ReflectedMember[] }).members) {
        // Scalars, plain vectors and arrays of vec4 (16-byte stride): flattened scalar slots.
        const base = (t.name === 'array' ? t.format?.name : t.name) ?? 'u32';
        const vec = base.startsWith('vec');
        const count = (t.name === 'array' ? (t.count ?? 1) : 1) * (vec ? Number(base[3]) : 1);
        const scalar = vec ? (base.match(/<(\w+)>/)?.[1] ?? 'u32') : base;
        this.fields.set(name, { name, offset, kind: scalar === 'f32' || scalar === 'i32' ? scalar : 'u32', count });
      }
    }
    for (const f of this.fields.values()) {
      const m = /^inv([A-Z]\w*)$/.exec(f.name);
      if (m && f.kind === 'f32' && f.count === 1)
        f.from = [m[1], m[1][0].toLowerCase() + m[1].slice(1)].find((x) => this.fields.has(x));
      (f.from ? this.derived : this.given).push(f);
    }
    entries.sort((a, b) => a.binding - b.binding);
    this.layout = device.createBindGroupLayout({ label, entries });
    const entryPoint = reflect.entry.compute[0]?.name;
    if (!entryPoint) throw new Error(`${label}: no @compute entry point`);
    const t0 = performance.now();
    const module = device.createShaderModule({ label, code });
    this.pipeline = device.createComputePipeline({
      label,
      layout: device.createPipelineLayout({ bindGroupLayouts: [this.layout] }),
      compute: { module, entryPoint, constants },
    });
    this.createMs = performance.now() - t0;
  }

  /**
   * Pack named uniform values into the struct layout the shader declares. Every field must be given,
   * and only fields of the struct, except reciprocals: a field `invX` (f32) where the struct has a field
   * X (or x, e.g. invNKw of nKw) is filled with 1 / X here, the one place reciprocals are derived.
   */
  pack(params: Record<string, number | readonly number[]>, view: DataView, base: number): void {
    let n = 0;
    for (const _ in params) n++;
    if (n !== this.given.length) this.badParams(params);
    for (const f of this.given) {
      const value = params[f.name];
      if (value === undefined) this.badParams(params);
      const values = typeof value === 'number' ? [value] : value;
      if (values.length > f.count)
        throw new Error(`${this.label}: '${f.name}' holds ${f.count} values, got ${values.length}`);
      for (let i = 0; i < values.length; i++) {
        const at = base + f.offset + 4 * i;
        if (f.kind === 'f32') view.setFloat32(at, values[i], true);
        else if (f.kind === 'i32') view.setInt32(at, values[i], true);
        else view.setUint32(at, values[i] >>> 0, true);
      }
    }
    for (const f of this.derived) {
      const d = params[f.from!] as number;
      if (!(d > 0))
        throw new Error(`${this.label}: uniform field '${f.from}' is ${d}, and its reciprocal needs it > 0`);
      view.setFloat32(base + f.offset, 1 / d, true);
    }
  }

  /** Throw naming the fields a dispatch left out or does not have (counts differed or one was undefined). */
  private badParams(params: Record<string, unknown>): never {
    const given = Object.keys(params).filter((k) => params[k] !== undefined);
    const derived = this.derived.find((f) => given.includes(f.name));
    if (derived)
      throw new Error(
        `${this.label}: uniform field '${derived.name}' is derived from '${derived.from}' (1 / ${derived.from}): ` +
          `give ${derived.from} only`,
      );
    const fields = this.given.map((f) => f.name);
    const unknown = given.find((k) => !this.fields.has(k));
    if (unknown) throw new Error(`${this.label}: uniform has no field '${unknown}' (fields: ${fields.join(', ')})`);
    const missing = fields.filter((k) => !given.includes(k)).map((k) => `'${k}'`);
    throw new Error(
      `${this.label}: the dispatch does not set uniform field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
        `(given: ${given.join(', ') || 'none'})`,
    );
  }
}

/** Something that owns a GPU buffer of at least `byteSize` bytes. */
export interface BufferLike {
  buffer: GPUBuffer;
  byteSize: number;
}

/** The one runtime per device. */
export class Runtime {
  private free = new Map<number, GPUBuffer[]>();
  private pipelines = new Map<string, Map<string, Kernel>>();
  private created: Kernel[] = [];
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private arena = { chunks: [] as GPUBuffer[], cpu: [] as DataView[], chunk: 0, offset: 0 };
  private toDestroy: GPUBuffer[] = [];
  private stats: MemoryStats = {
    liveBytes: 0,
    peakLiveBytes: 0,
    pooledBytes: 0,
    allocatedBytes: 0,
    peakAllocatedBytes: 0,
    liveBuffers: 0,
  };
  /** Timed passes not yet read back: first dispatches, and every dispatch while profiling. */
  private timestampSets: TimestampSet[] = [];
  private reading: Promise<void> | null = null;
  private profile: Profile | null = null;
  private readonly timestamps: boolean;
  // Bind groups by kernel, buffers and parameter slot: a model's passes repeat them run after run
  // (bench/LAB.md #46, #46b). Buffer ids are never reused, so a stale entry is never hit.
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private bindGroups = new Map<string, GPUBindGroup>();
  // For wait notices: kernels first run and dispatches since the last wait.
  private firstSinceWait: string[] = [];
  private dispatchesAtWait = 0;
  /** Command buffers submitted, dispatches recorded, bind groups found cached or created, so far. */
  submits = 0;
  dispatches = 0;
  bindGroupStats = { hits: 0, misses: 0 };
  /** Called when a kernel is dispatched for the first time (e.g. to say that kernels are compiling). */
  onFirstDispatch: ((k: Kernel) => void) | null = null;
  private lostInfo: { reason: string; message: string } | null = null;
  /** True once {@link Runtime.destroy} ran (`shutdown()`): tensors it made are refused by name. */
  destroyed = false;
  /**
   * Seconds after which (and every as many seconds) a wait for the GPU says on stderr how long it has waited,
   * for how many dispatches and which kernels run for the first time. 0 (default): silent; Node reads
   * `OSSIFY_GPU_WAIT_NOTICE_S`.
   */
  waitNoticeS =
    Number(
      (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.OSSIFY_GPU_WAIT_NOTICE_S,
    ) || 0;

  constructor(
    readonly device: GPUDevice,
    readonly info: DeviceInfo,
    private keepAlive: unknown = null,
  ) {
    this.timestamps = info.features.includes('timestamp-query');
    // Recorded, not printed: the next call that needs the device throws with it (see checkDevice).
    device.lost.then((l) => (this.lostInfo = { reason: l.reason, message: l.message }));
  }

  /** Why the device was lost (`reason` is 'destroyed' or 'unknown'), or null while it works. */
  get lost(): { reason: string; message: string } | null {
    return this.lostInfo;
  }

  /** Throw a clear error once the device is lost: Dawn fails later calls silently or with empty messages. */
  private checkDevice(): void {
    const l = this.lost;
    if (!l) return;
    throw new Error(
      `ossify: the GPU device was lost (${l.reason}): ${l.message || 'no message'}. Tensors on it are gone; ` +
        'shutdown() and init() to start over (a training run resumes from its last checkpoint when rerun)',
    );
  }

  // ---- memory -------------------------------------------------------------------------------

  /**
   * A storage buffer of at least `bytes` bytes, pooled by size class; `exact` rounds up to 16 bytes only, for
   * tensors that live as long as a model and would hold a size class's slack for good (bench/LAB.md #53).
   */
  alloc(bytes: number, opts: { exact?: boolean } = {}): BufferLike {
    this.checkDevice();
    const size = opts.exact ? Math.max(16, Math.ceil(bytes / 16) * 16) : sizeClass(bytes);
    const { maxBufferSize, maxStorageBufferBindingSize } = this.info.limits;
    if (size > maxBufferSize || size > maxStorageBufferBindingSize) {
      throw new Error(
        `ossify: a buffer of ${bytes} bytes exceeds this adapter's limits (maxBufferSize ${maxBufferSize}, ` +
          `maxStorageBufferBindingSize ${maxStorageBufferBindingSize}); use a smaller batch or input size`,
      );
    }
    const s = this.stats;
    let buffer = this.free.get(size)?.pop();
    if (buffer) s.pooledBytes -= size;
    else {
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE });
      s.allocatedBytes += size;
      s.peakAllocatedBytes = Math.max(s.peakAllocatedBytes, s.allocatedBytes);
    }
    s.liveBytes += size;
    s.liveBuffers++;
    s.peakLiveBytes = Math.max(s.peakLiveBytes, s.liveBytes);
    return { buffer, byteSize: size };
  }

  /** Return a buffer to the pool: reuse is safe at once, as the queue orders later dispatches after earlier ones. */
  release(buf: BufferLike): void {
    // A destroyed runtime's buffers died with its device: nothing to count or pool.
    if (this.destroyed) return;
    const size = buf.byteSize;
    this.stats.liveBytes -= size;
    this.stats.liveBuffers--;
    if (this.stats.pooledBytes + size > POOL_CAP_BYTES) return this.retire([buf.buffer], size);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf.buffer);
    this.stats.pooledBytes += size;
  }

  /** Destroy every pooled (free) buffer. */
  trim(): void {
    this.retire([...this.free.values()].flat(), this.stats.pooledBytes);
    this.stats.pooledBytes = 0;
    this.free.clear();
  }

  /** Destroy buffers of `bytes` in all, after the next submit if commands recorded since may name them. */
  private retire(buffers: GPUBuffer[], bytes: number): void {
    this.toDestroy.push(...buffers);
    this.stats.allocatedBytes -= bytes;
    if (!this.encoder) this.destroyPending();
  }

  private destroyPending(): void {
    for (const b of this.toDestroy) b.destroy();
    this.toDestroy = [];
  }

  /** Live, pooled and peak byte counters. */
  memory(): MemoryStats {
    return { ...this.stats };
  }

  /** Restart the peak counters from the current values. */
  resetPeak(): void {
    this.stats.peakLiveBytes = this.stats.liveBytes;
    this.stats.peakAllocatedBytes = this.stats.allocatedBytes;
  }

  // ---- pipelines ----------------------------------------------------------------------------

  /** A compiled kernel for this WGSL source and override constants (cached). */
  kernel(label: string, code: string, constants: Record<string, number> = {}): Kernel {
    // Keyed by the code string itself (its hash is cached on the string object) then the constants.
    let byCode = this.pipelines.get(code);
    if (!byCode) this.pipelines.set(code, (byCode = new Map()));
    const key = JSON.stringify(constants);
    let k = byCode.get(key);
    if (!k) {
      byCode.set(key, (k = new Kernel(label, this.device, code, constants)));
      this.created.push(k);
    }
    return k;
  }

  /** What compiling kernels has cost so far (reading the first dispatches' timestamps submits and waits). */
  async compileStats(): Promise<CompileStats> {
    await this.readTimestamps();
    const by = new Map<string, CompileStats['byLabel'][number]>();
    for (const k of this.created) {
      const e = by.get(k.label) ?? { label: k.label, pipelines: 0, createMs: 0, firstDispatchMs: 0 };
      by.set(k.label, e);
      e.pipelines++;
      e.createMs += k.createMs;
      e.firstDispatchMs += k.firstDispatchMs;
    }
    const byLabel = [...by.values()].sort((a, b) => b.createMs + b.firstDispatchMs - a.createMs - a.firstDispatchMs);
    const createMs = byLabel.reduce((sum, e) => sum + e.createMs, 0);
    const firstDispatchMs = byLabel.reduce((sum, e) => sum + e.firstDispatchMs, 0);
    const compilesOnFirstRun = this.info.kind === 'lavapipe';
    const compileMs = compilesOnFirstRun ? firstDispatchMs : createMs;
    const [pipelines, sources] = [this.created.length, this.pipelines.size];
    return { pipelines, sources, createMs, firstDispatchMs, compilesOnFirstRun, compileMs, byLabel };
  }

  // ---- recording ----------------------------------------------------------------------------

  private uniformSlot(size: number): Slot {
    const a = this.arena;
    if (a.offset + size > ARENA_CHUNK) {
      a.chunk++;
      a.offset = 0;
    }
    if (a.chunk === a.chunks.length) {
      a.chunks.push(
        this.device.createBuffer({ size: ARENA_CHUNK, usage: 0x0040 /* UNIFORM */ | 0x0008 /* COPY_DST */ }),
      );
      a.cpu.push(new DataView(new ArrayBuffer(ARENA_CHUNK)));
    }
    const offset = a.offset;
    a.offset += Math.ceil(size / UNIFORM_ALIGN) * UNIFORM_ALIGN;
    return { buffer: a.chunks[a.chunk], offset, view: a.cpu[a.chunk] };
  }

  /**
   * Record one dispatch. `buffers` names every storage binding of the kernel; `params` fills its uniform
   * struct by field name; `groups` is the workgroup count (use {@link Runtime.grid} for large 1-D work).
   */
  dispatch(
    k: Kernel,
    buffers: Record<string, BufferLike>,
    params: Record<string, number | readonly number[]>,
    groups: readonly [number, number?, number?],
  ): void {
    this.checkDevice();
    const [x, y = 1, z = 1] = groups;
    const max = this.info.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max)
      throw new Error(`${k.label}: dispatch ${x}x${y}x${z} exceeds ${max} workgroups per dimension`);
    let key = `${k.id}`;
    for (const [name, b] of k.bindings) {
      if (b.kind === 'uniform') continue;
      const buf = buffers[name];
      if (!buf)
        throw new Error(`${k.label}: binding '${name}' was not given (given: ${Object.keys(buffers).join(', ')})`);
      key += `,${this.bufferId(buf.buffer)}:${buf.byteSize}`;
    }
    for (const name in buffers)
      if (!k.bindings.has(name)) throw new Error(`${k.label}: shader has no binding '${name}'`);
    if (x === 0 || y === 0 || z === 0) return;
    const first = !k.dispatched;
    if (first) {
      k.dispatched = true;
      this.firstSinceWait.push(k.label);
      this.onFirstDispatch?.(k);
    }
    let slot: Slot | null = null;
    if (k.uniformSize) {
      slot = this.uniformSlot(k.uniformSize);
      new Uint8Array(slot.view.buffer, slot.offset, k.uniformSize).fill(0);
      k.pack(params, slot.view, slot.offset);
      key += `,u${this.arena.chunk}:${slot.offset}`;
    } else
      for (const name in params)
        throw new Error(`${k.label}: the kernel has no uniform, but the dispatch sets '${name}'`);
    const bindGroup = this.bindGroupFor(k, key, buffers, slot);
    // A kernel's first dispatch runs in a pass of its own between two timestamps: on adapters that
    // compile a pipeline when it first runs (CPU adapters), that is its compile time.
    const p = this.profile;
    const profiled = p !== null && p.left-- > 0;
    const timed = profiled || (first && this.timestamps);
    const pass = timed ? this.timedPass(k, profiled ? p : null, first, params, [x, y, z]) : this.openPass();
    pass.setPipeline(k.pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    if (timed) pass.end();
    this.dispatches++;
    // A first dispatch is submitted at once: an adapter that compiles on first run starts on it now,
    // and the next kernel's creation (which waits for that compile on lavapipe) shows the progress.
    if (++this.pending >= MAX_PENDING_DISPATCHES || (first && !p)) this.flush();
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, (id = this.nextBufferId++));
    return id;
  }

  /** The cached bind group of `key` (kernel, buffers, parameter slot), created on first use. */
  private bindGroupFor(
    k: Kernel,
    key: string,
    buffers: Record<string, BufferLike>,
    uniform: Slot | null,
  ): GPUBindGroup {
    let bg = this.bindGroups.get(key);
    if (bg) {
      this.bindGroupStats.hits++;
      return bg;
    }
    this.bindGroupStats.misses++;
    const entries = [...k.bindings].map(([name, { binding, kind }]) => ({
      binding,
      resource:
        kind === 'uniform'
          ? { buffer: uniform!.buffer, offset: uniform!.offset, size: k.uniformSize }
          : { buffer: buffers[name].buffer, size: buffers[name].byteSize },
    }));
    bg = this.device.createBindGroup({ layout: k.layout, entries });
    // Bounded: entries of destroyed buffers are never hit again, so start over once it is large.
    if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
    this.bindGroups.set(key, bg);
    return bg;
  }

  /**
   * Run `fn update(i: u32)` of `body` (which declares the bindings and a uniform `p: Params` with a field n)
   * over `params.n` elements (shaders/stream.wgsl). With `vectorize`, {{T}} and {{U}} in `body` are
   * vec4<f32> and vec4<u32> when n is a multiple of 4 (n then counts vec4s), else f32 and u32.
   */
  dispatchStream(
    label: string,
    body: string,
    buffers: Record<string, BufferLike>,
    params: Record<string, number> & { n: number },
    vectorize = false,
  ): void {
    const v = vectorize ? vecWidth(params.n) : 1;
    const code = fillTemplate(streamSrc, { BODY: vectorize ? vecSource(body, v) : body });
    const k = this.kernel(label, code, { PER: STREAM_PER_INVOCATION });
    const n = params.n / v;
    this.dispatch(
      k,
      buffers,
      v === 1 ? params : { ...params, n },
      this.grid(Math.ceil(n / STREAM_PER_INVOCATION), 256),
    );
  }

  /** Workgroup counts covering `n` items in groups of `perGroup`, folded into 2-D past the per-dimension limit. */
  grid(n: number, perGroup: number): [number, number] {
    const groups = Math.ceil(n / perGroup);
    const max = this.info.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= max) return [groups, 1];
    const y = Math.ceil(groups / max);
    return [Math.ceil(groups / y), y];
  }

  // ---- timestamps ---------------------------------------------------------------------------

  /**
   * A pass of its own for one dispatch of `k`, bracketed by GPU timestamps: the milliseconds go to the
   * kernel's first-dispatch time when `first`, and to the profile `p` by label.
   */
  private timedPass(
    k: Kernel,
    p: Profile | null,
    first: boolean,
    params: Record<string, number | readonly number[]>,
    grid: number[],
  ): GPUComputePassEncoder {
    let log = this.timestampSets.at(-1);
    if (!log || log.onMs.length === TIMESTAMPS_PER_SET) {
      log = { set: this.device.createQuerySet({ type: 'timestamp', count: 2 * TIMESTAMPS_PER_SET }), onMs: [] };
      this.timestampSets.push(log);
    }
    const label = p?.detail ? `${k.label} ${profileDetail(params, grid)}` : k.label;
    log.onMs.push((ms) => {
      if (first) k.firstDispatchMs = ms;
      if (!p) return;
      const e = p.byLabel.get(label) ?? { ms: 0, count: 0 };
      e.ms += ms;
      e.count++;
      p.byLabel.set(label, e);
    });
    const i = 2 * (log.onMs.length - 1);
    const timestampWrites = { querySet: log.set, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
    return this.passless().beginComputePass({ timestampWrites });
  }

  /**
   * Read back every timed pass recorded so far and hand each its milliseconds (submits and waits); a caller
   * arriving meanwhile (compileStats() during stopProfile()) waits for the same read.
   */
  private readTimestamps(): Promise<void> {
    this.reading ??= this.readTimestampSets().finally(() => (this.reading = null));
    return this.reading;
  }

  private async readTimestampSets(): Promise<void> {
    const sets = this.timestampSets;
    this.timestampSets = [];
    for (const { set, onMs } of sets) {
      const bytes = onMs.length * 16;
      const resolve = this.device.createBuffer({
        size: bytes,
        usage: 0x0200 /* QUERY_RESOLVE */ | 0x0004 /* COPY_SRC */,
      });
      this.passless().resolveQuerySet(set, 0, 2 * onMs.length, resolve, 0);
      const ts = new BigUint64Array(await this.download({ buffer: resolve, byteSize: bytes }, bytes));
      resolve.destroy();
      set.destroy();
      onMs.forEach((f, i) => f(Number(ts[2 * i + 1] - ts[2 * i]) / 1e6));
    }
  }

  /**
   * Start GPU-timestamp profiling of the next `maxDispatches` dispatches, one per pass (slower: to find hot
   * kernels, not to time a step). With `detail`, labels add shape parameters and grid:
   * `conv2d_fwd:subgroup M=18 N=192 K=1728 [5,3,1]`.
   */
  startProfile(maxDispatches = 2048, opts: { detail?: boolean } = {}): void {
    if (!this.timestamps)
      throw new Error("ossify: profiling needs the adapter's 'timestamp-query' feature, which this device lacks");
    const left = checkNumber(maxDispatches, 'startProfile(maxDispatches)', { min: 1, integer: true });
    this.flush();
    this.profile = { left, detail: opts.detail ?? false, byLabel: new Map() };
  }

  /** Stop profiling and return GPU milliseconds per kernel label (sorted, largest first). */
  async stopProfile(): Promise<{ label: string; ms: number; count: number }[]> {
    const p = this.profile;
    if (!p) return [];
    this.profile = null;
    await this.readTimestamps();
    return [...p.byLabel].map(([label, e]) => ({ label, ...e })).sort((a, b) => b.ms - a.ms);
  }

  // ---- submission ---------------------------------------------------------------------------

  /** The command encoder (made when there is none) with no pass open. */
  private passless(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private openPass(): GPUComputePassEncoder {
    return (this.pass ??= (this.encoder ??= this.device.createCommandEncoder()).beginComputePass());
  }

  /** Record a buffer-to-buffer copy, ordered with the dispatches around it. */
  copy(src: BufferLike, srcOffset: number, dst: BufferLike, dstOffset: number, bytes: number): void {
    if (bytes === 0) return;
    this.passless().copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
    this.pending++;
  }

  /** Submit everything recorded so far (one command buffer). */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    const a = this.arena;
    for (let i = 0; i <= a.chunk && i < a.chunks.length; i++) {
      const used = i < a.chunk ? ARENA_CHUNK : a.offset;
      if (used > 0) this.device.queue.writeBuffer(a.chunks[i], 0, a.cpu[i].buffer, 0, used);
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.encoder = null;
    this.pass = null;
    this.pending = 0;
    a.chunk = 0;
    a.offset = 0;
    this.destroyPending();
  }

  /** Upload host data into a buffer (after everything recorded so far). */
  upload(dst: BufferLike, data: ArrayBufferView, dstOffset = 0): void {
    // queue.writeBuffer runs before any command buffer submitted later, so recorded work goes first.
    this.checkDevice();
    this.flush();
    this.device.queue.writeBuffer(dst.buffer, dstOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Read bytes back to the host (submits pending work and waits for it). */
  async download(src: BufferLike, bytes: number, srcOffset = 0): Promise<ArrayBuffer> {
    this.checkDevice();
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({
      size: Math.max(size, 4),
      usage: 0x0001 /* MAP_READ */ | 0x0008 /* COPY_DST */,
    });
    this.copy(src, srcOffset, { buffer: staging, byteSize: size }, 0, size);
    this.flush();
    await this.waitForQueue(() => staging.mapAsync(1 /* READ */));
    const out = staging.getMappedRange().slice(0, bytes);
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Wait until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    // A lost device finishes nothing: say so instead of resolving as if the work were done.
    this.checkDevice();
    this.flush();
    await this.waitForQueue(() => this.device.queue.onSubmittedWorkDone());
    this.checkDevice();
  }

  /** Wait for submitted work, with the notices of {@link Runtime.waitNoticeS}. */
  private async waitForQueue(wait: () => Promise<unknown>): Promise<void> {
    const firstRuns = this.firstSinceWait;
    const dispatched = this.dispatches - this.dispatchesAtWait;
    this.firstSinceWait = [];
    this.dispatchesAtWait = this.dispatches;
    const t0 = performance.now();
    const notice = (): void => {
      const more = firstRuns.length > 12 ? `, ... (${firstRuns.length} in all)` : '';
      const firsts = firstRuns.length
        ? `kernels run for the first time: ${firstRuns.slice(0, 12).join(', ')}${more}`
        : 'no kernel among them runs for the first time';
      const s = ((performance.now() - t0) / 1000).toFixed(0);
      console.error(`ossify: still waiting for the GPU after ${s} s, for ${dispatched} dispatches; ${firsts}`);
    };
    const timer = this.waitNoticeS > 0 ? setInterval(notice, this.waitNoticeS * 1000) : null;
    try {
      await wait();
    } catch (e) {
      // A device lost meanwhile fails the wait (Dawn: with an empty message); its lost promise settles
      // about then, so give it a moment and report the loss instead.
      await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 100))]);
      this.checkDevice();
      throw e;
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  /** Release the device and everything pooled. */
  destroy(): void {
    this.flush();
    this.trim();
    // Once the queue is idle: SwiftShader's worker threads crashed the process (a pthread assertion)
    // about one time in three when its device was destroyed with submitted work still running.
    const { device, keepAlive } = this;
    const release = (): void => {
      device.destroy();
      void keepAlive;
    };
    device.queue.onSubmittedWorkDone().then(release, release);
    this.keepAlive = null;
    this.destroyed = true;
  }
}

let current: Runtime | null = null;
let pendingInit: Promise<Runtime> | null = null;

/**
 * Initialise ossify's default runtime (idempotent). Call once before creating tensors.
 * In Node this picks the adapter (hardware, else lavapipe, else SwiftShader) and says which, once.
 */
export async function init(opts: AcquireOptions = {}): Promise<Runtime> {
  if (current) return current;
  pendingInit ??= acquireDevice(opts).then(
    ({ device, info, keepAlive }) => (current = new Runtime(device, info, keepAlive)),
  );
  return pendingInit;
}

/** The default runtime; throws if {@link init} has not completed. */
export function runtime(): Runtime {
  if (!current) throw new Error('ossify: no GPU runtime yet; `await init()` first');
  return current;
}

/** Destroy the default runtime (lets a Node process exit). */
export function shutdown(): void {
  current?.destroy();
  current = null;
  pendingInit = null;
}

/** A dispatch's size parameters (the GEMM's M, N, K, an element count n) and grid, for detailed profiles. */
function profileDetail(params: Record<string, number | readonly number[]>, grid: number[]): string {
  const sizes = ['M', 'N', 'K', 'n', 'splits'].filter((f) => typeof params[f] === 'number');
  return `${sizes.map((f) => `${f}=${params[f]}`).join(' ')} [${grid.join(',')}]`;
}
