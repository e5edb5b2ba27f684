/**
 * The unit of work of the batch loader, shared by the worker entry
 * (decode-worker.ts) and the main-thread fallback so both run the same code.
 * @module
 */
import { ImageDecodeError, loadImage, type Backbone, type AugmentParams, type ImageErrorKind } from './images.js';

/** One image to decode, sent to a worker (structured-clonable). */
export interface DecodeTask {
  /** Task id, echoed in the result. */
  id: number;
  path: string;
  width: number;
  height: number;
  backbone: Backbone;
  augment?: AugmentParams;
  truncated: 'error' | 'decode';
}

/** Result of a {@link DecodeTask}. `data` is transferred, not copied, from a worker. */
export type DecodeResult =
  | { id: number; ok: true; data: Float32Array; truncated: boolean; ms: number }
  | { id: number; ok: false; kind: ImageErrorKind | 'internal'; message: string; ms: number };

/** Runs one task in the current thread; never throws. */
export async function runDecodeTask(task: DecodeTask): Promise<DecodeResult> {
  const t0 = performance.now();
  try {
    const img = await loadImage(task.path, task);
    return { id: task.id, ok: true, data: img.data, truncated: img.truncated, ms: performance.now() - t0 };
  } catch (e) {
    const kind = e instanceof ImageDecodeError ? e.kind : 'internal';
    return { id: task.id, ok: false, kind, message: (e as Error).message, ms: performance.now() - t0 };
  }
}
