/**
 * Timing: warm-up, then samples until a minimum count and a time budget are reached; median and min.
 *
 * Each sample: the engine's untimed per-sample setup (e.g. the forward pass before a backward), a
 * drained queue, then the iterations are RECORDED, a begin timestamp pass is submitted, the engine
 * submits the recorded work, an end timestamp pass follows, and the queue is drained. Both ossify and
 * tfjs-webgpu record commands and submit them later, so the two timestamps bracket exactly the GPU
 * execution of the sample. If the engine submitted anything while recording (ossify past 2048
 * dispatches, tfjs every 15 kernels, uploads), the bracket would miss that work, so the sample falls
 * back to wall-clock and the row says `timer: 'wall'`. Wall-clock (recording + submit + drained queue)
 * is always measured too.
 */

/** A pair of GPU timestamps around submitted work, on one device. */
export class GpuBracket {
  private qs: GPUQuerySet;
  private resolveBuf: GPUBuffer;
  private readBuf: GPUBuffer;
  /** Submissions seen on this queue (our own marker passes excluded). */
  submits = 0;
  private own = false;
  /** Greatest common divisor of every raw timestamp so far (ns): the clock's quantum if quantized. */
  private gcd = 0n;
  private samples = 0;

  constructor(private device: GPUDevice) {
    this.qs = device.createQuerySet({ type: 'timestamp', count: 2 });
    this.resolveBuf = device.createBuffer({ size: 16, usage: 0x0200 /* QUERY_RESOLVE */ | 0x0004 /* COPY_SRC */ });
    this.readBuf = device.createBuffer({ size: 16, usage: 0x0001 /* MAP_READ */ | 0x0008 /* COPY_DST */ });
    // Count the engine's submissions so that a sample whose work escaped the bracket is detected.
    const queue = device.queue;
    const submit = queue.submit.bind(queue);
    (queue as { submit: GPUQueue['submit'] }).submit = (bufs: Iterable<GPUCommandBuffer>) => {
      if (!this.own) this.submits++;
      return submit(bufs);
    };
  }

  /** Whether the feature was granted on this device. */
  static available(device: GPUDevice): boolean {
    return device.features.has('timestamp-query');
  }

  mark(which: 'begin' | 'end'): void {
    const enc = this.device.createCommandEncoder();
    const pass = enc.beginComputePass({
      timestampWrites:
        which === 'begin'
          ? { querySet: this.qs, beginningOfPassWriteIndex: 0 }
          : { querySet: this.qs, endOfPassWriteIndex: 1 },
    });
    pass.end();
    if (which === 'end') {
      enc.resolveQuerySet(this.qs, 0, 2, this.resolveBuf, 0);
      enc.copyBufferToBuffer(this.resolveBuf, 0, this.readBuf, 0, 16);
    }
    this.own = true;
    try {
      this.device.queue.submit([enc.finish()]);
    } finally {
      this.own = false;
    }
  }

  /** Milliseconds between the two marks (after the queue has drained). */
  async read(): Promise<number> {
    await this.readBuf.mapAsync(1 /* READ */);
    const v = new BigUint64Array(this.readBuf.getMappedRange().slice(0));
    this.readBuf.unmap();
    const g = (a: bigint, b: bigint): bigint => (b === 0n ? a : g(b, a % b));
    this.gcd = g(g(this.gcd, v[0]), v[1]);
    this.samples++;
    return Number(v[1] - v[0]) / 1e6;
  }

  /**
   * The quantum of the timestamps in microseconds when they look quantized (every value a multiple
   * of >= 1 us), else 0.
   */
  get quantumUs(): number {
    return this.samples > 1 && this.gcd >= 1000n ? Number(this.gcd) / 1000 : 0;
  }

  /** The timer name for rows, once samples were read. */
  get kind(): string {
    const q = this.quantumUs;
    return q ? `gpu-timestamp-quantized (${q >= 10 ? q.toFixed(1) : q.toFixed(3)} us)` : 'gpu-timestamp';
  }
}

/** What an engine gives the timing loop for one case and phase. */
export interface Prepared {
  /**
   * Untimed work before each sample (e.g. the forward pass of a backward sample); must leave work
   * submitted or recorded.
   */
  before?: () => void | Promise<void>;
  /** One iteration: record (or run) the measured work. */
  run: () => void | Promise<void>;
  /** Whether iterations may be repeated inside one sample (false when `before` must precede each). */
  repeatable: boolean;
  /** Free what the case allocated. */
  dispose: () => void;
  flops: number | null;
  bytes: number | null;
}

/** The timing hooks of an engine. */
export interface Timer {
  /** Submit everything recorded (no wait). */
  flush: () => void;
  /** Submit and wait for the queue to drain. */
  sync: () => Promise<void>;
  /** GPU timestamps, when granted. */
  bracket: GpuBracket | null;
  /** Start peak-memory tracking; `peak()` ends it. `wrap` may run the first warm-up under a profiler. */
  resetPeak: () => void;
  peak: () => number | null;
  wrapPeak?: (fn: () => Promise<void>) => Promise<number | null>;
}

export interface Measured {
  median_ms: number;
  min_ms: number;
  runs: number;
  inner: number;
  timer: string;
  wall_median_ms: number;
  /** The fastest sample on the wall clock, per iteration. */
  wall_min_ms: number;
  peak_bytes: number | null;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const now = (): number => performance.now();

/** Sampling plan: warm-ups, then samples until both `minRuns` and `budgetMs` are reached, or `maxRuns`. */
export interface Plan {
  warmup: number;
  minRuns: number;
  maxRuns: number;
  budgetMs: number;
  targetSampleMs?: number;
}

/** One case's samples, taken one at a time so that the suite can alternate engines between them. */
export interface Sampler {
  /** Whether the plan is fulfilled. */
  done: () => boolean;
  /** Take one more sample. */
  sample: () => Promise<void>;
  result: () => Measured;
}

/**
 * Warm one prepared case up (`warmup` untimed iterations; the first also gives the peak memory) and
 * return its sampler. The budget counts the sampler's own time, not the time other engines take
 * between its samples.
 */
export async function startMeasure(p: Prepared, t: Timer, o: Plan): Promise<Sampler> {
  const once = async (): Promise<number> => {
    if (p.before) {
      await p.before();
      await t.sync();
    }
    const t0 = now();
    await p.run();
    await t.sync();
    return now() - t0;
  };
  // Warm-up: pipelines compile, pools fill. The first warm-up runs under the peak-memory probe.
  t.resetPeak();
  let peak: number | null;
  let est: number;
  if (t.wrapPeak) {
    let e = 0;
    peak = await t.wrapPeak(async () => {
      e = await once();
    });
    est = e;
  } else {
    est = await once();
    peak = t.peak();
  }
  // Slow cases (seconds per iteration on CPU adapters): one warm-up and at most 3 samples are enough,
  // unless the caller fixed the count (`--samples`: no budget).
  let minRuns = o.minRuns;
  if (o.budgetMs > 0 && est > o.budgetMs / 2) minRuns = Math.min(minRuns, 3);
  else for (let i = 1; i < o.warmup; i++) est = await once();
  const inner = p.repeatable ? Math.max(1, Math.min(64, Math.ceil((o.targetSampleMs ?? 20) / Math.max(est, 1e-3)))) : 1;
  const times: number[] = [];
  const walls: number[] = [];
  let allGpu = !!t.bracket;
  let spent = 0;
  return {
    done: () => times.length >= o.maxRuns || (times.length >= minRuns && spent >= o.budgetMs),
    sample: async () => {
      const s0 = now();
      if (p.before) await p.before();
      await t.sync();
      const b = t.bracket;
      const submitsBefore = b?.submits ?? 0;
      const t0 = now();
      for (let i = 0; i < inner; i++) await p.run();
      // Work recorded but not yet submitted: bracket it with timestamp passes.
      const clean = !!b && b.submits === submitsBefore;
      if (b && clean) b.mark('begin');
      t.flush();
      if (b && clean) b.mark('end');
      await t.sync();
      const wall = (now() - t0) / inner;
      walls.push(wall);
      if (b && clean) times.push((await b.read()) / inner);
      else {
        allGpu = false;
        times.push(wall);
      }
      spent += now() - s0;
    },
    result: () => {
      const timer = t.bracket && allGpu ? t.bracket.kind : 'wall';
      // Mixed samples are reported as wall-clock throughout, so one row never mixes two clocks.
      const use = timer === 'wall' ? walls : times;
      return {
        median_ms: median(use),
        min_ms: Math.min(...use),
        runs: use.length,
        inner,
        timer,
        wall_median_ms: median(walls),
        wall_min_ms: Math.min(...walls),
        peak_bytes: peak,
      };
    },
  };
}

/** Time one prepared case alone: warm-up, then samples as `o` plans them. */
export async function measure(p: Prepared, t: Timer, o: Plan): Promise<Measured> {
  const s = await startMeasure(p, t, o);
  while (!s.done()) await s.sample();
  return s.result();
}
