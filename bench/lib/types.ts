/** Shared types of the benchmark suite. */

/** What a row measures. `backward` is the gradient pass alone (see README: how each engine isolates it). */
export type Phase = 'forward' | 'backward' | 'inference' | 'train-step';

/** One result row (the JSON output is an array of these). */
export interface Row {
  /** 'ossify', 'tfjs-webgpu', 'tfjs-wasm', 'jax-webgpu'. */
  engine: string;
  /** e.g. 'conv3x3-32-64-35', 'matmul-1024', 'inceptionv3-75'. */
  case: string;
  phase: Phase;
  /** The adapter the engine ran on (WebGPU adapter description, or 'cpu (wasm)'). */
  adapter: string;
  /** 'node' or 'chromium'. */
  runtime: string;
  batch: number;
  /** Median and minimum milliseconds per iteration (null on error). */
  median_ms: number | null;
  min_ms: number | null;
  /** Number of timed samples. */
  runs: number;
  /** Iterations per timed sample (several short iterations are timed together). */
  inner: number;
  /** How the time was taken: 'gpu-timestamp', 'gpu-timestamp-quantized', 'wall'. */
  timer: string;
  /** Median wall-clock milliseconds per iteration, for comparison with the timer's figure. */
  wall_median_ms: number | null;
  /** Floating-point operations per iteration (multiply-add = 2) and the minimal bytes moved. */
  flops: number | null;
  bytes: number | null;
  /** flops / median time, and bytes / median time. */
  gflops: number | null;
  gbps: number | null;
  /**
   * Peak device memory during the case: ossify's peak live tensor bytes, tfjs's peak
   * tf.memory().numBytes (null for jax-webgpu).
   */
  peak_bytes: number | null;
  /**
   * Kernels the engine compiled while it prepared and warmed up this case, and the time that took
   * (where the engine reports it: ossify). With the driver's shader cache off, the cold-start cost.
   */
  pipelines?: number;
  compile_ms?: number;
  /** Why the engine could not run the case (the row is kept so the gap shows). */
  error?: string;
}

/** Options the runners take. */
export interface SuiteOptions {
  quick: boolean;
  /** Run only cases whose name contains one of these. */
  filter?: string[];
  /** Engines to run (default: all available). */
  engines?: string[];
  /** Whether the adapter is a real GPU (enables the batch-32 convolution table). */
  realGpu: boolean;
  /** Batches of the kernel table (default: 2, plus 32 on a real GPU). */
  batches?: number[];
  /** Time budget per case and engine, in ms (samples stop after it once minRuns are taken). */
  budgetMs?: number;
  /** Exactly this many samples per case after one warm-up (overrides the plan). */
  samples?: number;
  log?: (msg: string) => void;
  /** Called with every row so far after each row (Node writes the JSON file as it goes). */
  progress?: (rows: Row[]) => void;
}
