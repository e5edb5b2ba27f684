/**
 * Batches of decoded images, prepared ahead of the consumer by a small pool of worker threads: `new
 * BatchLoader({records, batchSize, backbone, ...})`, `for await (const b of loader.epoch(e))` per epoch, then
 * `loader.close()`. Without a worker entry ({@link resolveDecodeWorker}), or with `workers: 0`, the same code
 * ({@link runDecodeTask}) runs in the main thread, competing with the consumer; `loader.mode()` says which.
 * @module
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FracRecord } from './fracatlas.js';
import {
  runDecodeTask,
  sampleAugmentation,
  type AugmentOptions,
  type DecodeResult,
  type DecodeTask,
} from './images.js';
import type { Backbone } from './pixels.js';
import { hashSeed, makeRng, shuffleInPlace } from './rng.js';

/** How a loader decodes: in worker threads, or in the main thread as a fallback. */
export type DecodeMode = 'workers' | 'main-thread';

/** A located worker entry: the built decode-worker.js, or an esbuild bundle of decode-worker.ts (a `data:` URL). */
export interface WorkerEntry {
  url: URL;
  source: 'file' | 'bundled-from-source';
}

let bundledWorker: Promise<WorkerEntry | null> | undefined;

/**
 * Finds the decode worker: `decode-worker.js` beside this module (a tsup entry), or, from the .ts sources (vitest), an
 * in-memory esbuild bundle of decode-worker.ts; null when neither is available (browser, no esbuild).
 */
export async function resolveDecodeWorker(): Promise<WorkerEntry | null> {
  const here = import.meta.url;
  if (!here.startsWith('file:')) return null;
  const built = new URL('./decode-worker.js', here);
  if (existsSync(fileURLToPath(built))) return { url: built, source: 'file' };
  const src = new URL('./decode-worker.ts', here);
  if (!here.endsWith('.ts') || !existsSync(fileURLToPath(src))) return null;
  bundledWorker ??= bundleWorkerFromSource(src).catch(() => null);
  return bundledWorker;
}

interface EsbuildLike {
  build(o: Record<string, unknown>): Promise<{ outputFiles?: { text: string }[] }>;
}

async function bundleWorkerFromSource(src: URL): Promise<WorkerEntry | null> {
  const require = createRequire(src);
  const name = 'esbuild'; // non-literal so bundlers leave this dev-only import alone
  const esbuild = (await import(/* @vite-ignore */ name)) as EsbuildLike;
  const sharpUrl = pathToFileURL(require.resolve('sharp')).href;
  const out = await esbuild.build({
    entryPoints: [fileURLToPath(src)],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    plugins: [
      {
        name: 'sharp-by-url',
        setup(b: { onResolve(o: { filter: RegExp }, cb: () => { path: string; external: boolean }): void }) {
          b.onResolve({ filter: /^sharp$/ }, () => ({ path: sharpUrl, external: true }));
        },
      },
    ],
  });
  const text = out.outputFiles?.[0]?.text;
  if (!text) return null;
  const url = new URL(`data:text/javascript;base64,${Buffer.from(text).toString('base64')}`);
  return { url, source: 'bundled-from-source' };
}

/** Tasks in flight per worker: sharp's native decoding of one overlaps the JS resize/augment of the other. */
const PER_WORKER = 2;

interface Job {
  task: DecodeTask;
  resolve: (r: DecodeResult) => void;
}

/** Where tasks run: a worker thread, or (no `worker`) the main thread; `jobs`: those sent, by task id. */
interface Lane {
  jobs: Map<number, Job>;
  worker?: Worker;
}

/**
 * A small pool of decode workers: a FIFO queue, each task sent to the least busy lane with room. Without live
 * workers (none found, `size` 0, or all died) the main thread takes as many tasks as one worker.
 */
class DecodePool {
  private workers: Lane[] = [];
  private readonly mainThread: Lane = { jobs: new Map() };
  private queue: Job[] = [];
  readonly mode: DecodeMode;

  constructor(url: URL | null, size: number) {
    this.mode = url ? 'workers' : 'main-thread';
    for (let i = 0; url && i < size; i++) this.spawn(url);
  }

  private spawn(url: URL): void {
    const worker = new Worker(url);
    const lane: Lane = { jobs: new Map(), worker };
    worker.unref();
    worker.on('message', (res: DecodeResult) => this.finish(lane, res));
    // A dead worker's tasks run elsewhere (or in this thread if none is left).
    const fail = (): void => {
      if (!this.workers.includes(lane)) return;
      this.workers = this.workers.filter((l) => l !== lane);
      this.queue.unshift(...lane.jobs.values());
      lane.jobs.clear();
      this.pump();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.workers.push(lane);
  }

  private finish(lane: Lane, res: DecodeResult): void {
    const job = lane.jobs.get(res.id);
    if (!job) return;
    lane.jobs.delete(res.id);
    // Idle workers must not keep the process alive if the user forgets close().
    if (lane.jobs.size === 0) lane.worker?.unref();
    job.resolve(res);
    this.pump();
  }

  /** Decodes one task (never rejects: failures come back as `{ok: false}`). */
  run(task: DecodeTask): Promise<DecodeResult> {
    return new Promise((resolve) => {
      this.queue.push({ task, resolve });
      this.pump();
    });
  }

  /** Drops queued (not started) tasks, e.g. when the consumer stops early. */
  clearQueue(): void {
    this.queue.length = 0;
  }

  private pump(): void {
    const lanes = this.workers.length > 0 ? this.workers : [this.mainThread];
    while (this.queue.length > 0) {
      const lane = lanes.reduce((best, l) => (l.jobs.size < best.jobs.size ? l : best));
      if (lane.jobs.size >= PER_WORKER) return;
      const job = this.queue.shift()!;
      lane.jobs.set(job.task.id, job);
      if (lane.worker) {
        lane.worker.ref();
        lane.worker.postMessage(job.task);
      } else {
        void runDecodeTask(job.task).then((res) => this.finish(lane, res));
      }
    }
  }

  /** Terminates the workers. */
  async close(): Promise<void> {
    this.queue.length = 0;
    const lanes = this.workers;
    this.workers = [];
    await Promise.all(lanes.map((l) => l.worker!.terminate()));
  }
}

/** Options of {@link BatchLoader}. */
export interface LoaderOptions {
  /** Records to iterate (e.g. `dataset.split('train')`). */
  records: readonly FracRecord[];
  batchSize: number;
  backbone: Backbone;
  /** Model input width (default 299, InceptionV3; 224 for DenseNet121). */
  width?: number;
  /** Model input height (default = width). */
  height?: number;
  /** Shuffle every epoch (default true); the order depends only on (seed, epoch). */
  shuffle?: boolean;
  /** Seed for shuffling, balanced sampling and augmentation (default 0). */
  seed?: number;
  /**
   * Balanced sampling: each epoch draws `epochSize` samples, half from each class, each class cycling through seeded
   * permutations of its records (the minority class repeats, the majority class is sub-sampled). Default false.
   */
  balanced?: boolean;
  /** Samples per epoch with balanced sampling (default: number of records). */
  epochSize?: number;
  /** Augmentation: true for {@link DEFAULT_AUGMENT} ranges, an object for own ranges, false/omitted for none. */
  augment?: boolean | AugmentOptions;
  /** Labels as class indices (Int32Array, default) or one-hot Float32Array [B, 2] in `y`. */
  labelFormat?: 'index' | 'onehot';
  /** Batches decoded ahead of the consumer (default 2). */
  prefetch?: number;
  /** Worker threads (default min(4, available cores)); 0 decodes in the main thread. */
  workers?: number;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Truncated JPEG at load time: 'error' (default; left out of the batch, listed in stats) or 'decode' (gray fill). */
  truncated?: 'error' | 'decode';
}

/** One batch. */
export interface Batch {
  /** Index of the batch in its epoch. */
  index: number;
  /** Images, NHWC, normalized for the backbone. */
  x: Float32Array;
  /** Class indices (1 = fractured). */
  labels: Int32Array;
  /** Labels in the requested format: `labels` itself, or one-hot [size, 2]. */
  y: Int32Array | Float32Array;
  /** Record ids, in batch order. */
  ids: string[];
  /** Number of images (fewer than batchSize for a last batch or when files failed). */
  size: number;
  /** [size, height, width, 3] */
  shape: [number, number, number, number];
}

/** A sample that could not be decoded at load time. */
export interface LoadFailure {
  id: string;
  path: string;
  kind: string;
  message: string;
}

/** Data-side measurements of one epoch (times in ms). */
export interface EpochDataStats {
  epoch: number;
  batches: number;
  samples: number;
  /** Time the consumer waited inside the iterator. */
  waitMs: number;
  /** Part of waitMs spent on the first batch (pipeline start-up). */
  firstWaitMs: number;
  /** From the first request to the end of the epoch. */
  wallMs: number;
  /** Sum of per-image decode times (> wallMs when workers overlap). */
  decodeMs: number;
  /** Images left out of their batch. */
  failed: LoadFailure[];
  /** Ids of truncated images decoded anyway (`truncated: 'decode'`). */
  truncated: string[];
  mode: DecodeMode;
}

/**
 * Class weights 'balanced' as scikit-learn computes them: w_c = n / (2 * n_c) for labels 0/1 (a class absent from the
 * labels gets weight 0).
 * @returns [w_nonFractured, w_fractured]
 */
export function classWeights(labels: ArrayLike<number> | readonly FracRecord[]): [number, number] {
  const n = labels.length;
  const labelOf = (v: number | FracRecord): number => (typeof v === 'number' ? v : v.label);
  const n1 = Array.from(labels, labelOf).filter((l) => l === 1).length;
  const n0 = n - n1;
  return [n0 > 0 ? n / (2 * n0) : 0, n1 > 0 ? n / (2 * n1) : 0];
}

/** The sample order of one epoch as indices into `records`; depends only on the options and the epoch. */
export function epochOrder(
  records: readonly FracRecord[],
  epoch: number,
  opts: Pick<LoaderOptions, 'shuffle' | 'seed' | 'balanced' | 'epochSize'>,
): number[] {
  const seed = opts.seed ?? 0;
  const n = records.length;
  const shuffle = (idx: number[]): number[] =>
    opts.shuffle === false ? idx : shuffleInPlace(idx, makeRng(hashSeed(seed, epoch, 0x5348)));
  if (!opts.balanced) return shuffle(Array.from({ length: n }, (_, i) => i));
  const byClass: number[][] = [[], []];
  records.forEach((r, i) => byClass[r.label]!.push(i));
  const total = opts.epochSize ?? n;
  const present = byClass.filter((c) => c.length > 0);
  if (present.length === 0) return [];
  // Equal shares; odd remainders go to class 0. Each class is drawn from an endless cycle of seeded
  // permutations that continues across epochs, so every record is seen equally often.
  const want = present.length === 2 ? [Math.ceil(total / 2), Math.floor(total / 2)] : [total];
  const draws: number[] = [];
  present.forEach((list, c) => {
    // This epoch takes draws [from, to) of the cycle.
    const [from, to] = [epoch * want[c]!, (epoch + 1) * want[c]!];
    for (let cycle = Math.floor(from / list.length); cycle * list.length < to; cycle++) {
      const perm = shuffleInPlace([...list], makeRng(hashSeed(seed, c, cycle, 0x42414c)));
      const start = cycle * list.length;
      draws.push(...perm.slice(Math.max(0, from - start), to - start));
    }
  });
  return shuffle(draws);
}

/** One sample of an epoch: its record and its augmentation key. */
interface Draw {
  record: FracRecord;
  key: number;
}

/** Iterates batches of one split, decoding up to `prefetch` batches ahead of the consumer in worker threads. */
export class BatchLoader {
  readonly width: number;
  readonly height: number;
  private pool: Promise<DecodePool> | undefined;
  private taskId = 0;
  /** Stats of the last epoch iterated (finished or stopped). */
  lastStats: EpochDataStats | undefined;

  constructor(readonly opts: LoaderOptions) {
    if (!(opts.batchSize >= 1)) throw new Error('BatchLoader: batchSize must be >= 1');
    this.width = opts.width ?? 299;
    this.height = opts.height ?? this.width;
  }

  /** Number of batches per epoch. */
  get batchesPerEpoch(): number {
    const n = this.opts.balanced ? (this.opts.epochSize ?? this.opts.records.length) : this.opts.records.length;
    return this.opts.dropLast ? Math.floor(n / this.opts.batchSize) : Math.ceil(n / this.opts.batchSize);
  }

  /** The decode pool (started on first use). */
  private decodePool(): Promise<DecodePool> {
    this.pool ??= (async () => {
      const size = this.opts.workers ?? Math.min(4, availableParallelism());
      const found = size > 0 ? await resolveDecodeWorker() : null;
      return new DecodePool(found?.url ?? null, size);
    })();
    return this.pool;
  }

  /** 'workers' or 'main-thread' (starts the pool if needed). */
  async mode(): Promise<DecodeMode> {
    return (await this.decodePool()).mode;
  }

  /** Batches of one epoch, in the seeded order for that epoch. Stopping early (break) cancels queued decoding. */
  async *epoch(epoch: number): AsyncGenerator<Batch, void, undefined> {
    const t0 = performance.now();
    const pool = await this.decodePool();
    const repeats = new Map<number, number>();
    // Each draw's augmentation key: its record and how often that record came before (balanced sampling repeats).
    const draws = epochOrder(this.opts.records, epoch, this.opts).map((ri): Draw => {
      const k = repeats.get(ri) ?? 0;
      repeats.set(ri, k + 1);
      return { record: this.opts.records[ri]!, key: hashSeed(ri, k) };
    });
    const zeros = { batches: 0, samples: 0, waitMs: 0, firstWaitMs: 0, wallMs: 0, decodeMs: 0 };
    const stats: EpochDataStats = { epoch, ...zeros, failed: [], truncated: [], mode: pool.mode };
    const { batchSize, prefetch = 2 } = this.opts;
    const batches = new Map<number, Promise<Batch>>();
    try {
      for (let b = 0; b < this.batchesPerEpoch; b++) {
        for (let k = b; k <= b + Math.max(0, prefetch) && k < this.batchesPerEpoch; k++) {
          const batch = draws.slice(k * batchSize, (k + 1) * batchSize);
          if (!batches.has(k)) batches.set(k, this.decodeBatch(pool, batch, k, epoch, stats));
        }
        const w0 = performance.now();
        const batch = await batches.get(b)!;
        const waited = performance.now() - w0;
        stats.waitMs += waited;
        if (b === 0) stats.firstWaitMs = waited;
        stats.batches++;
        stats.samples += batch.size;
        batches.delete(b);
        yield batch;
      }
    } finally {
      pool.clearQueue();
      stats.wallMs = performance.now() - t0;
      this.lastStats = stats;
    }
  }

  /** Decodes one batch's draws and assembles the images that decoded; failures and truncations go to `stats`. */
  private async decodeBatch(
    pool: DecodePool,
    draws: Draw[],
    index: number,
    epoch: number,
    stats: EpochDataStats,
  ): Promise<Batch> {
    const o = this.opts;
    const augment = o.augment === true ? {} : o.augment || undefined;
    const results = await Promise.all(
      draws.map(({ record, key }) =>
        pool.run({
          id: this.taskId++,
          path: record.path,
          width: this.width,
          height: this.height,
          backbone: o.backbone,
          truncated: o.truncated ?? 'error',
          augment: augment && sampleAugmentation(o.seed ?? 0, epoch, key, augment),
        }),
      ),
    );
    const kept: [FracRecord, Float32Array][] = [];
    results.forEach((r, i) => {
      const { id, path } = draws[i]!.record;
      stats.decodeMs += r.ms;
      if (!r.ok) stats.failed.push({ id, path, kind: r.kind, message: r.message });
      else {
        if (r.truncated) stats.truncated.push(id);
        kept.push([draws[i]!.record, r.data]);
      }
    });
    const size = kept.length;
    const px = this.width * this.height * 3;
    const x = new Float32Array(size * px);
    kept.forEach(([, data], i) => x.set(data, i * px));
    const labels = Int32Array.from(kept, ([rec]) => rec.label);
    // One-hot [size, 2]: value k is sample k >> 1, class k % 2.
    const oneHot = (): Float32Array =>
      Float32Array.from({ length: size * 2 }, (_, k) => (labels[k >> 1] === k % 2 ? 1 : 0));
    const y = o.labelFormat === 'onehot' ? oneHot() : labels;
    const ids = kept.map(([rec]) => rec.id);
    return { index, x, labels, y, ids, size, shape: [size, this.height, this.width, 3] };
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    if (this.pool) await (await this.pool).close();
    this.pool = undefined;
  }
}
