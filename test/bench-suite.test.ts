import { describe, expect, it } from 'vitest';
import { allCases } from '../bench/lib/cases.js';
import type { Engine } from '../bench/lib/engine.js';
import { runSuite } from '../bench/lib/suite.js';
import { measure, type Prepared, type Timer } from '../bench/lib/timing.js';

// The benchmark issue's case list: reduced models at batch 2 everywhere; on a real GPU also the
// kernel table at batch 32 and the models at their training size and batch 32.
describe('bench case list', () => {
  const key = (c: { name: string; batch: number }): string => `${c.name}@${c.batch}`;

  it('runs the full-size, batch-32 models and the batch-32 kernel table on a real GPU only', () => {
    const gpu = allCases({ quick: false, realGpu: true }).map(key);
    const cpu = allCases({ quick: false, realGpu: false }).map(key);
    const full = ['inceptionv3-299@32', 'inceptionv3-bam-299@32', 'densenet121-224@32', 'densenet121-bam-224@32'];
    for (const k of full) {
      expect(gpu).toContain(k);
      expect(cpu).not.toContain(k);
    }
    expect(gpu).toContain('conv1x7-128-128-17@32');
    expect(cpu).not.toContain('conv1x7-128-128-17@32');
    for (const k of ['inceptionv3-75@2', 'inceptionv3-bam-139@2', 'densenet121-64@2', 'densenet121-bam-96@2', 'conv3x3d4-16-16-17@2', 'matmul-1024@1']) {
      expect(gpu).toContain(k);
      expect(cpu).toContain(k);
    }
    // Full-size rows come first among the models, so that a run cut short keeps them.
    const models = allCases({ quick: false, realGpu: true, filter: ['inceptionv3', 'densenet121'] }).map(key);
    expect(models.slice(0, 4).sort()).toEqual([...full].sort());
  });

  it('keeps one whole-model training step in the quick suite', () => {
    const quick = allCases({ quick: true, realGpu: false });
    const models = quick.filter((c) => c.spec.kind === 'model');
    expect(models.map((c) => [c.name, c.phases])).toEqual([['inceptionv3-75', ['train-step']]]);
  });
});

// A fake engine whose "work" is a busy wait of a fixed length; it logs what runs when.
function fakeEngine(name: string, ms: number, events: string[], fail?: string): Engine {
  const timer: Timer = { flush: () => undefined, sync: async () => undefined, bracket: null, resetPeak: () => undefined, peak: () => 7 };
  return {
    name,
    adapter: 'fake',
    timer,
    activate: async () => {
      events.push(`activate ${name}`);
    },
    prepare: async (c, phase) => {
      if (fail && phase === fail) throw new Error(`${name} cannot ${phase}`);
      return {
        repeatable: false,
        run: () => {
          events.push(`run ${name} ${c.name} ${phase}`);
          const t0 = performance.now();
          while (performance.now() - t0 < ms);
        },
        dispose: () => events.push(`dispose ${name} ${phase}`),
        flops: 1e6,
        bytes: null,
      } satisfies Prepared;
    },
  };
}

describe('bench sampling', () => {
  it('takes exactly --samples samples, even of a slow case', async () => {
    const events: string[] = [];
    const e = fakeEngine('a', 3, events);
    const p = await e.prepare(allCases({ quick: false, realGpu: false, filter: ['conv1x1'] })[0], 'forward');
    const m = await measure(p, e.timer, { warmup: 1, minRuns: 5, maxRuns: 5, budgetMs: 0 });
    expect(m.runs).toBe(5);
    expect(events.filter((x) => x.startsWith('run'))).toHaveLength(6); // one warm-up + 5 samples
    expect(m.median_ms).toBeGreaterThanOrEqual(3);
    expect(m.timer).toBe('wall');
    expect(m.peak_bytes).toBe(7);
  });

  it('alternates the engines sample by sample within a case, activating each before it runs', async () => {
    const events: string[] = [];
    const engines = [fakeEngine('a', 1, events), fakeEngine('b', 2, events, 'backward')];
    const rows = await runSuite(engines, { quick: false, realGpu: false, filter: ['conv1x1'], samples: 3, log: () => undefined }, 'node');
    // Forward: both warm up, then a b a b a b; backward: b cannot, a runs alone.
    const fwd = events.filter((x) => x.startsWith('run') && x.endsWith('forward')).map((x) => x.split(' ')[1]);
    expect(fwd.join('')).toBe('ababab' + 'ab');
    const bwd = events.filter((x) => x.startsWith('run') && x.endsWith('backward')).map((x) => x.split(' ')[1]);
    expect(bwd.join('')).toBe('aaaa');
    // Each run is preceded by its own engine's activation.
    events.forEach((x, i) => {
      if (x.startsWith('run ')) expect(events.slice(0, i).reverse().find((y) => y.startsWith('activate'))).toBe(`activate ${x.split(' ')[1]}`);
    });
    expect(rows.map((r) => [r.engine, r.phase, r.runs, r.error ?? ''])).toEqual([
      ['a', 'forward', 3, ''],
      ['b', 'forward', 3, ''],
      ['a', 'backward', 3, ''],
      ['b', 'backward', 0, 'b cannot backward'],
    ]);
    const [a, b] = rows;
    expect(b.median_ms!).toBeGreaterThan(a.median_ms!);
    expect(a.gflops).toBeCloseTo(1e6 / a.median_ms! / 1e6, 9);
    expect(events.filter((x) => x.startsWith('dispose'))).toEqual(['dispose a forward', 'dispose b forward', 'dispose a backward']);
  });
});
