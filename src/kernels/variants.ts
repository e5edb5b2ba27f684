/**
 * Kernel variants: where a family has several implementations (e.g. the GEMM cores), the choice is,
 * in order: forced by `setVariant`, tuned for this shape by {@link autotune}, or the adapter's default.
 */
import { runtime } from '../gpu/runtime.js';

const forced = new Map<string, string>();
const tuned = new Map<string, string>();

/** Force a variant for a kernel family (undefined restores tuning and the adapter's default). */
export function setVariant(family: string, variant: string | undefined): void {
  if (variant === undefined) forced.delete(family);
  else forced.set(family, variant);
}

/** The variant to use for `family` (and this shape, when a tuned choice exists). */
export function variant<T extends string>(family: string, defaults: { cpu: T; gpu: T }, shapeKey?: string): T {
  const f = forced.get(family);
  if (f) return f as T;
  if (shapeKey !== undefined) {
    const t = tuned.get(`${family}:${shapeKey}`);
    if (t) return t as T;
  }
  return runtime().info.isCpu ? defaults.cpu : defaults.gpu;
}

/** Tuned choices, to save (e.g. as JSON beside a run) and restore with {@link loadTuning}. */
export function tuning(): Record<string, string> {
  return Object.fromEntries(tuned);
}

/** Restore tuned choices (keys `family:shapeKey`). Only valid for the adapter they were measured on. */
export function loadTuning(choices: Record<string, string>): void {
  for (const [k, v] of Object.entries(choices)) tuned.set(k, v);
}

/**
 * Time each candidate variant of `family` on this shape (warm-up, then the median of `repeats` runs)
 * and remember the fastest for this shape key. `run` records the work once with the variant forced.
 */
export async function autotune(
  family: string,
  shapeKey: string,
  candidates: readonly string[],
  run: () => void,
  repeats = 3,
): Promise<{ winner: string; ms: Record<string, number> }> {
  const rt = runtime();
  const prev = forced.get(family);
  const ms: Record<string, number> = {};
  try {
    for (const c of candidates) {
      forced.set(family, c);
      run();
      await rt.sync();
      const times: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        run();
        await rt.sync();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      ms[c] = times[Math.floor(times.length / 2)];
    }
  } finally {
    if (prev === undefined) forced.delete(family);
    else forced.set(family, prev);
  }
  const winner = Object.entries(ms).sort((a, b) => a[1] - b[1])[0][0];
  tuned.set(`${family}:${shapeKey}`, winner);
  return { winner, ms };
}
