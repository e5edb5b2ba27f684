/**
 * The suite: every case, every phase, every engine, one row each (errors kept as rows). For each case
 * the engines run back to back, one after the other (each owns the device while timed, its queue
 * drained before the next starts): a ratio then compares timings taken seconds apart, not the tens
 * of minutes between the first engine's rows and the last's, over which a shared or thermally
 * throttled machine's speed drifts (up to 1.5x on the development VM); and a run cut short keeps
 * whole rows of comparisons.
 */
import { allCases, type Case } from './cases.js';
import type { Engine } from './engine.js';
import { measure } from './timing.js';
import type { Row, SuiteOptions, Phase } from './types.js';

/** Budgets: quick mode keeps the whole run under 10 minutes on SwiftShader. */
function plan(c: Case, quick: boolean): { warmup: number; minRuns: number; maxRuns: number; budgetMs: number } {
  if (c.spec.kind === 'model') return quick ? { warmup: 1, minRuns: 1, maxRuns: 1, budgetMs: 0 } : { warmup: 1, minRuns: 3, maxRuns: 5, budgetMs: 20_000 };
  return quick ? { warmup: 1, minRuns: 2, maxRuns: 10, budgetMs: 1500 } : { warmup: 2, minRuns: 5, maxRuns: 30, budgetMs: 5000 };
}

function errRow(e: Engine, c: Case, phase: Phase, runtimeName: string, error: string): Row {
  return { engine: e.name, case: c.name, phase, adapter: e.adapter, runtime: runtimeName, batch: c.batch, median_ms: null, min_ms: null, runs: 0, inner: 0, timer: 'none', wall_median_ms: null, flops: null, bytes: null, gflops: null, gbps: null, peak_bytes: null, error };
}

function short(e: unknown): string {
  const m = String((e as Error)?.message ?? e).split('\n')[0];
  return m.length > 300 ? `${m.slice(0, 297)}...` : m;
}

/** Run the suite over `engines`; `runtimeName` is 'node' or 'chromium'. */
export async function runSuite(engines: Engine[], o: SuiteOptions, runtimeName: string): Promise<Row[]> {
  const log = o.log ?? ((m: string) => console.log(m));
  const cases = allCases(o);
  const rows: Row[] = [];
  for (const c of cases) {
    for (const e of engines) {
      await e.activate?.();
      const fwdRow: Partial<Record<Phase, Row>> = {};
      for (const phase of c.phases) {
        let row: Row;
        const t0 = performance.now();
        try {
          const p = await e.prepare(c, phase);
          try {
            const m = await measure(p, e.timer, o.samples ? { warmup: 1, minRuns: o.samples, maxRuns: o.samples, budgetMs: 0 } : plan(c, o.quick));
            row = { engine: e.name, case: c.name, phase, adapter: e.adapter, runtime: runtimeName, batch: c.batch, ...m, flops: p.flops, bytes: p.bytes, gflops: null, gbps: null };
            if (p.backwardIncludesForward) {
              // tfjs: the sample timed forward + backward; take the forward off (its own row's median/min).
              const f = fwdRow.forward;
              if (!f || f.median_ms === null || f.min_ms === null || f.wall_median_ms === null) throw new Error('backward needs the forward row first');
              row.median_ms = Math.max(0, row.median_ms! - f.median_ms);
              row.min_ms = Math.max(0, row.min_ms! - f.min_ms);
              row.wall_median_ms = Math.max(0, row.wall_median_ms! - f.wall_median_ms);
              row.timer += ' (fwd+bwd minus fwd)';
            }
            if (row.median_ms && row.flops) row.gflops = row.flops / row.median_ms / 1e6;
            if (row.median_ms && row.bytes) row.gbps = row.bytes / row.median_ms / 1e6;
          } finally {
            p.dispose();
            await e.timer.sync();
          }
        } catch (err) {
          row = errRow(e, c, phase, runtimeName, short(err));
        }
        fwdRow[phase] = row;
        rows.push(row);
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        log(row.error ? `  ${e.name} ${c.name} b${c.batch} ${phase}: error: ${row.error} (${secs} s)` : `  ${e.name} ${c.name} b${c.batch} ${phase}: median ${row.median_ms!.toFixed(2)} ms, min ${row.min_ms!.toFixed(2)} ms${row.gflops ? `, ${row.gflops.toFixed(2)} GFLOP/s` : ''} [${row.timer}, ${row.runs}x${row.inner}] (${secs} s)`);
      }
    }
  }
  return rows;
}
