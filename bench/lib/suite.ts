/**
 * The suite: every case, every phase, every engine, one row each (errors kept as rows). For each case
 * and phase every engine prepares its work and warms up, then the engines take their samples in
 * turns (one sample of each, round after round), each owning the device while it is timed, its
 * queue drained before the next starts. A ratio then compares samples taken under the same machine
 * conditions: a shared or throttled machine's speed drifts (by up to 2x over minutes on the
 * development VM), and timing one engine's whole suite before the next's put that drift into every
 * ratio. A run cut short keeps whole comparisons too.
 */
import { allCases, type Case } from './cases.js';
import type { Engine } from './engine.js';
import { isBracketed } from './ratios.js';
import { startMeasure, type Measured, type Plan, type Prepared, type Sampler } from './timing.js';
import type { Row, SuiteOptions, Phase } from './types.js';

/** Budgets: quick mode keeps the whole run under 10 minutes on SwiftShader. */
function plan(c: Case, quick: boolean): Plan {
  if (c.spec.kind === 'model')
    return quick
      ? { warmup: 1, minRuns: 1, maxRuns: 1, budgetMs: 0 }
      : { warmup: 1, minRuns: 3, maxRuns: 5, budgetMs: 20_000 };
  return quick
    ? { warmup: 1, minRuns: 2, maxRuns: 10, budgetMs: 1500 }
    : { warmup: 2, minRuns: 5, maxRuns: 30, budgetMs: 5000 };
}

function errRow(e: Engine, c: Case, phase: Phase, runtimeName: string, error: string): Row {
  return {
    engine: e.name,
    case: c.name,
    phase,
    adapter: e.adapter,
    runtime: runtimeName,
    batch: c.batch,
    median_ms: null,
    min_ms: null,
    runs: 0,
    inner: 0,
    timer: 'none',
    wall_median_ms: null,
    flops: null,
    bytes: null,
    gflops: null,
    gbps: null,
    peak_bytes: null,
    error,
  };
}

function short(e: unknown): string {
  const m = String((e as Error)?.message ?? e).split('\n')[0];
  return m.length > 300 ? `${m.slice(0, 297)}...` : m;
}

/** One engine's part in one case and phase while the engines take turns. */
interface Turn {
  e: Engine;
  p?: Prepared & { backwardIncludesForward?: boolean };
  s?: Sampler;
  error?: string;
  ms: number;
  /** Kernels compiled in prepare and warm-up. */
  compiles?: { pipelines: number; compileMs: number };
}

/** Run the suite over `engines`; `runtimeName` is 'node' or 'chromium'. */
export async function runSuite(engines: Engine[], o: SuiteOptions, runtimeName: string): Promise<Row[]> {
  const log = o.log ?? ((m: string) => console.log(m));
  const cases = allCases(o);
  const rows: Row[] = [];
  for (const c of cases) {
    const budget: Plan = o.samples
      ? { warmup: 1, minRuns: o.samples, maxRuns: o.samples, budgetMs: 0 }
      : plan(c, o.quick);
    // Each engine's forward measurement of this case, which a backward timed with its forward subtracts.
    const forwards = new Map<Engine, Measured>();
    for (const phase of c.phases) {
      // Each engine's time on this case (prepare, warm-up, its own samples) for the log line.
      const timed = async (t: Turn, fn: () => Promise<void>): Promise<void> => {
        const t0 = performance.now();
        try {
          await t.e.activate?.();
          await fn();
        } catch (err) {
          t.error = short(err);
        }
        t.ms += performance.now() - t0;
      };
      const turns: Turn[] = engines.map((e) => ({ e, ms: 0 }));
      for (const t of turns) {
        await timed(t, async () => {
          const before = await t.e.compiles?.();
          t.p = await t.e.prepare(c, phase);
          t.s = await startMeasure(t.p, t.e.timer, budget);
          const after = await t.e.compiles?.();
          if (before && after)
            t.compiles = {
              pipelines: after.pipelines - before.pipelines,
              compileMs: after.compileMs - before.compileMs,
            };
        });
      }
      for (;;) {
        const due = turns.filter((t) => !t.error && t.s && !t.s.done());
        if (!due.length) break;
        for (const t of due) await timed(t, () => t.s!.sample());
      }
      for (const t of turns) {
        const m = t.error || !t.p ? undefined : t.s?.result();
        const row = m
          ? finish(t, m, c, phase, runtimeName, forwards.get(t.e))
          : errRow(t.e, c, phase, runtimeName, t.error ?? 'not prepared');
        if (m && phase === 'forward') forwards.set(t.e, m);
        if (t.p) {
          t.p.dispose();
          await t.e.timer.sync().catch(() => undefined);
        }
        rows.push(row);
        o.progress?.(rows);
        const secs = (t.ms / 1000).toFixed(1);
        const wall = isBracketed(row) ? `, wall ${row.wall_median_ms!.toFixed(2)} ms` : '';
        log(
          row.error
            ? `  ${t.e.name} ${c.name} b${c.batch} ${phase}: error: ${row.error} (${secs} s)`
            : `  ${t.e.name} ${c.name} b${c.batch} ${phase}: median ${row.median_ms!.toFixed(2)} ms, ` +
                `min ${row.min_ms!.toFixed(2)} ms${wall}${row.gflops ? `, ${row.gflops.toFixed(2)} GFLOP/s` : ''} ` +
                `[${row.timer}, ${row.runs}x${row.inner}] (${secs} s)`,
        );
      }
    }
  }
  return rows;
}

/**
 * One engine's row from its samples (an error row where a backward timed with its forward lacks the
 * forward's measurement).
 */
function finish(t: Turn, m: Measured, c: Case, phase: Phase, runtimeName: string, f: Measured | undefined): Row {
  const { median_ms, min_ms, runs, inner, timer, wall_median_ms, wall_min_ms, peak_bytes } = m;
  const p = t.p!;
  const row: Row = {
    engine: t.e.name,
    case: c.name,
    phase,
    adapter: t.e.adapter,
    runtime: runtimeName,
    batch: c.batch,
    median_ms,
    min_ms,
    runs,
    inner,
    timer,
    wall_median_ms,
    peak_bytes,
    flops: p.flops,
    bytes: p.bytes,
    gflops: null,
    gbps: null,
  };
  if (p.backwardIncludesForward) {
    // tfjs, jax-js: the sample timed forward + backward; take the forward off, on one clock: GPU
    // timestamps where both were bracketed, else the wall clock for both.
    if (!f) return errRow(t.e, c, phase, runtimeName, 'backward needs the forward row first');
    const onGpu = timer !== 'wall' && f.timer !== 'wall';
    row.median_ms = Math.max(0, onGpu ? median_ms - f.median_ms : wall_median_ms - f.wall_median_ms);
    row.min_ms = Math.max(0, onGpu ? min_ms - f.min_ms : wall_min_ms - f.wall_min_ms);
    row.wall_median_ms = Math.max(0, wall_median_ms - f.wall_median_ms);
    row.timer = `${onGpu ? timer : 'wall'} (fwd+bwd minus fwd)`;
  }
  if (t.compiles) {
    row.pipelines = t.compiles.pipelines;
    row.compile_ms = t.compiles.compileMs;
  }
  if (row.median_ms && row.flops) row.gflops = row.flops / row.median_ms / 1e6;
  if (row.median_ms && row.bytes) row.gbps = row.bytes / row.median_ms / 1e6;
  return row;
}
