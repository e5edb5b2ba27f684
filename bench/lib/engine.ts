/** What the suite needs from an engine (ossify or a TensorFlow.js backend). */
import type { Case } from './cases.js';
import type { Phase } from './types.js';
import type { Prepared, Timer } from './timing.js';

export interface Engine {
  /** 'ossify', 'tfjs-webgpu', 'tfjs-wasm', 'jax-webgpu'. */
  name: string;
  /** The adapter it runs on, as it reports it. */
  adapter: string;
  timer: Timer;
  /** Make this engine current (tfjs: setBackend). */
  activate?: () => Promise<void>;
  /**
   * Build the case's tensors (and model) for one phase. Throws when the engine cannot run it; the
   * message becomes the row's `error`. `backwardIncludesForward` marks a backward Prepared that times
   * forward + backward (tfjs has no way to run a gradient alone); the suite then subtracts the forward.
   */
  prepare: (c: Case, phase: Phase) => Promise<Prepared & { backwardIncludesForward?: boolean }>;
  /** Notes for the report (e.g. timestamp quantization). */
  notes?: string[];
  /** Kernels this engine has compiled so far and the time that took (ossify: runtime().compileStats()). */
  compiles?: () => Promise<{ pipelines: number; compileMs: number }>;
}

/**
 * An engine that could not start (e.g. a peer whose WebGPU device failed to initialise): every case
 * becomes an error row that says why, so the gap shows in the table.
 */
export function unavailableEngine(name: string, adapter: string, reason: string): Engine {
  return {
    name,
    adapter,
    timer: {
      flush: () => undefined,
      sync: async () => undefined,
      bracket: null,
      resetPeak: () => undefined,
      peak: () => null,
    },
    prepare: async () => {
      throw new Error(`${name} unavailable: ${reason}`);
    },
    notes: [`${name}: unavailable (${reason})`],
  };
}

/** Seeded uniform values in [lo, hi) (mulberry32), so every engine sees the same data. */
export function randomData(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/** He-uniform-ish scale for a fan-in, so deep stacks neither explode nor vanish. */
export function heScale(fanIn: number): number {
  return Math.sqrt(6 / fanIn);
}

/** One-hot labels [n, classes] alternating over the classes. */
export function oneHot(n: number, classes: number): Float32Array {
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) out[i * classes + (i % classes)] = 1;
  return out;
}
