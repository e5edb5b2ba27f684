/**
 * What the CLI says about kernel compilation: on a CPU adapter a first run on a fresh machine waits minutes
 * for it (later runs are served from the driver's cache), so the CLI says so while it happens.
 */
import { runtime, type CompileStats } from './gpu/runtime.js';

/** Where compile progress goes: a status line (null clears it) and whole lines. */
interface CompileSink {
  status(text: string | null): void;
  log(line: string): void;
}

/** Seconds of kernel compilation before the CLI says it is compiling (a warm cache serves a model in well under). */
const NOTICE_AFTER_S = 2;

/**
 * Watch kernels as they are first dispatched; past {@link NOTICE_AFTER_S} seconds of it, show their count and
 * the time so far. Returns a function that stops and prints "compiled N kernels in T s" (the first call only).
 */
export function watchCompiles(sink: CompileSink): () => Promise<void> {
  const rt = runtime();
  const t0 = performance.now();
  let count = 0;
  let noticed = false;
  // Creating a pipeline takes the compile (SwiftShader) or waits for the previous one's (lavapipe
  // compiles on first dispatch, and creation waits for its queue): a warm cache keeps this near zero.
  let creating = 0;
  rt.onFirstDispatch = (k) => {
    count++;
    creating += k.createMs;
    const s = (performance.now() - t0) / 1000;
    if (!noticed && creating / 1000 > NOTICE_AFTER_S) {
      noticed = true;
      sink.log(
        'ossify: compiling GPU kernels for the first time on this machine; ' +
          'the driver caches them, so later runs start in seconds',
      );
    }
    if (noticed) sink.status(`compiling GPU kernels: ${count} so far, ${s.toFixed(0)} s (${k.label})`);
  };
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    rt.onFirstDispatch = null;
    if (noticed) sink.status(null);
    sink.log(compileLine(await rt.compileStats()));
  };
}

/** "compiled N kernels in T s", and where the adapter spent that time. */
export function compileLine(s: CompileStats): string {
  const where = s.compilesOnFirstRun ? 'on their first dispatch' : 'creating pipelines';
  return `ossify: compiled ${s.pipelines} GPU kernels in ${(s.compileMs / 1000).toFixed(1)} s (${where})`;
}
