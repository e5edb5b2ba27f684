import { describe, expect, it } from 'vitest';
import { allCases } from '../bench/lib/cases.js';
import type { Engine } from '../bench/lib/engine.js';
import { markdown, parseMeta } from '../bench/lib/report.js';
import { comparisons, ratioOn } from '../bench/lib/ratios.js';
import { runSuite } from '../bench/lib/suite.js';
import { measure, type GpuBracket, type Prepared, type Timer } from '../bench/lib/timing.js';
import type { Row } from '../bench/lib/types.js';

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
    for (const k of [
      'inceptionv3-75@2',
      'inceptionv3-bam-139@2',
      'densenet121-64@2',
      'densenet121-bam-96@2',
      'conv3x3d4-16-16-17@2',
      'matmul-1024@1',
    ]) {
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
  const timer: Timer = {
    flush: () => undefined,
    sync: async () => undefined,
    bracket: null,
    resetPeak: () => undefined,
    peak: () => 7,
  };
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
    const rows = await runSuite(
      engines,
      { quick: false, realGpu: false, filter: ['conv1x1'], samples: 3, log: () => undefined },
      'node',
    );
    // Forward: both warm up, then a b a b a b; backward: b cannot, a runs alone.
    const fwd = events.filter((x) => x.startsWith('run') && x.endsWith('forward')).map((x) => x.split(' ')[1]);
    expect(fwd.join('')).toBe('ababab' + 'ab');
    const bwd = events.filter((x) => x.startsWith('run') && x.endsWith('backward')).map((x) => x.split(' ')[1]);
    expect(bwd.join('')).toBe('aaaa');
    // Each run is preceded by its own engine's activation.
    events.forEach((x, i) => {
      if (x.startsWith('run '))
        expect(
          events
            .slice(0, i)
            .reverse()
            .find((y) => y.startsWith('activate')),
        ).toBe(`activate ${x.split(' ')[1]}`);
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
    expect(events.filter((x) => x.startsWith('dispose'))).toEqual([
      'dispose a forward',
      'dispose b forward',
      'dispose a backward',
    ]);
  });
});

// A fake engine with GPU timestamps: each bracketed sample reads `gpuMs[phase]`; a backward that
// `submitsWhileRecording` escapes the bracket, as a tfjs model does, so its row falls back to wall.
function bracketedEngine(gpuMs: Record<'forward' | 'backward', number>, submitsWhileRecording: boolean): Engine {
  let phaseNow: 'forward' | 'backward' = 'forward';
  const bracket = {
    submits: 0,
    mark: () => undefined,
    read: async () => gpuMs[phaseNow],
    kind: 'gpu-timestamp',
  } as unknown as GpuBracket;
  const timer: Timer = {
    flush: () => undefined,
    sync: async () => undefined,
    bracket,
    resetPeak: () => undefined,
    peak: () => null,
  };
  return {
    name: 'peer',
    adapter: 'fake',
    timer,
    prepare: async (_c, phase) => {
      const which = phase === 'backward' ? 'backward' : 'forward';
      return {
        repeatable: false,
        backwardIncludesForward: which === 'backward',
        run: () => {
          phaseNow = which;
          if (which === 'backward' && submitsWhileRecording) bracket.submits++;
          const t0 = performance.now();
          while (performance.now() - t0 < (which === 'backward' ? 4 : 2));
        },
        dispose: () => undefined,
        flops: null,
        bytes: null,
      };
    },
  };
}

describe('bench backward timed with its forward', () => {
  const conv = { quick: false, realGpu: false, filter: ['conv1x1'], samples: 3, log: () => undefined };

  it('subtracts the forward on GPU timestamps where both were bracketed', async () => {
    const [, bwd] = await runSuite([bracketedEngine({ forward: 0.5, backward: 2 }, false)], conv, 'node');
    expect(bwd.timer).toBe('gpu-timestamp (fwd+bwd minus fwd)');
    expect(bwd.median_ms).toBe(1.5);
    expect(bwd.min_ms).toBe(1.5);
  });

  it('subtracts the forward on the wall clock where the forward+backward was not bracketed', async () => {
    const [fwd, bwd] = await runSuite([bracketedEngine({ forward: 0.5, backward: 2 }, true)], conv, 'node');
    expect(fwd.timer).toBe('gpu-timestamp');
    expect(fwd.median_ms).toBe(0.5);
    expect(bwd.timer).toBe('wall (fwd+bwd minus fwd)');
    // Wall minus wall: the forward's GPU 0.5 ms is not taken off a wall-clock time.
    expect(bwd.median_ms).toBe(bwd.wall_median_ms);
  });
});

// Rows of one case as the suite writes them; `gpu` given: bracketed, `median_ms` is GPU time.
function timed(engine: string, wall: number, gpu?: number, error?: string): Row {
  return {
    engine,
    case: 'inceptionv3-75',
    phase: 'inference',
    adapter: 'fake',
    runtime: 'node',
    batch: 2,
    median_ms: error ? null : (gpu ?? wall),
    min_ms: error ? null : (gpu ?? wall),
    runs: 3,
    inner: 1,
    timer: error ? 'none' : gpu === undefined ? 'wall' : 'gpu-timestamp-quantized (65.5 us)',
    wall_median_ms: error ? null : wall,
    flops: null,
    bytes: null,
    gflops: null,
    gbps: null,
    peak_bytes: null,
    ...(error ? { error } : {}),
  };
}

describe('bench ratios: both times on one clock', () => {
  // The lavapipe run: ossify 117 ms GPU / 135.9 ms wall, tfjs-wasm 113 ms (wall, a CPU engine),
  // tfjs-webgpu bracketed in one row and fallen back to wall in another.
  const ossify = timed('ossify', 135.9, 117);
  const wasm = timed('tfjs-wasm', 113);

  it('compares a bracketed row with a wall-clock row on the wall clock only', () => {
    expect(ratioOn(ossify, [wasm], 'wall')).toBeCloseTo(135.9 / 113, 12);
    expect(ratioOn(ossify, [wasm], 'gpu')).toBeNull();
    const webgpuWall = timed('tfjs-webgpu', 2091);
    expect(ratioOn(ossify, [webgpuWall], 'wall')).toBeCloseTo(135.9 / 2091, 12);
    expect(ratioOn(ossify, [webgpuWall], 'gpu')).toBeNull();
    // The other way round too: ossify on wall, the peer bracketed.
    expect(ratioOn(timed('ossify', 889), [timed('tfjs-webgpu', 900, 850)], 'gpu')).toBeNull();
    expect(ratioOn(timed('ossify', 889), [timed('tfjs-webgpu', 900, 850)], 'wall')).toBeCloseTo(889 / 900, 12);
  });

  it('gives a GPU-timestamp ratio where both rows were bracketed, the wall ratio beside it', () => {
    const webgpu = timed('tfjs-webgpu', 45.4, 43.7);
    expect(ratioOn(ossify, [webgpu], 'gpu')).toBeCloseTo(117 / 43.7, 12);
    expect(ratioOn(ossify, [webgpu], 'wall')).toBeCloseTo(135.9 / 45.4, 12);
  });

  it('compares with the fastest peer on GPU timestamps only where every peer that ran was bracketed', () => {
    const tfjs = timed('tfjs-webgpu', 50, 40);
    const jax = timed('jax-webgpu', 45);
    expect(ratioOn(ossify, [tfjs, jax], 'wall')).toBeCloseTo(135.9 / 45, 12);
    expect(ratioOn(ossify, [tfjs, jax], 'gpu')).toBeNull();
    const failed = timed('jax-webgpu', 0, undefined, 'no such op');
    expect(ratioOn(ossify, [tfjs, failed], 'gpu')).toBeCloseTo(117 / 40, 12);
    expect(ratioOn(ossify, [failed], 'wall')).toBeNull();
    expect(ratioOn(timed('ossify', 0, undefined, 'no kernel'), [tfjs], 'wall')).toBeNull();
  });

  it('never produces a mixed ratio from rows with mixed timers', () => {
    const peers = [timed('tfjs-webgpu', 2091), timed('tfjs-webgpu', 45.4, 43.7), wasm, timed('jax-webgpu', 51.7)];
    for (const o of [ossify, timed('ossify', 889)]) {
      for (const p of peers) {
        const [c] = comparisons([o, p]);
        expect(c.wall).toBeCloseTo(o.wall_median_ms! / p.wall_median_ms!, 12);
        const bothBracketed = o.timer !== 'wall' && p.timer !== 'wall';
        expect(c.gpu === null).toBe(!bothBracketed);
        if (bothBracketed) expect(c.gpu).toBeCloseTo(o.median_ms! / p.median_ms!, 12);
      }
    }
  });

  it('tables wall-clock ratios, both of ossify times, and GPU ratios only where both were bracketed', () => {
    const rows = [
      ossify,
      timed('tfjs-webgpu', 2091),
      wasm,
      { ...timed('ossify', 13.6, 12.5), case: 'conv3x3-32-64-35', phase: 'forward' as const },
      { ...timed('tfjs-webgpu', 45.4, 43.7), case: 'conv3x3-32-64-35', phase: 'forward' as const },
      { ...timed('tfjs-wasm', 6.05), case: 'conv3x3-32-64-35', phase: 'forward' as const },
    ];
    const md = markdown(rows, { title: 't', date: 'd', notes: ['n'] });
    const table = md.split('\n').filter((l) => l.startsWith('| '));
    const cells = table.map((l) => l.slice(2, -2).split(' | '));
    const [head, model, conv] = cells;
    const col = (name: string): number => head.indexOf(name);
    expect(head).toContain('ours/tfjs-webgpu (wall)');
    expect(head).toContain('ours/tfjs-webgpu (GPU)');
    expect(head).toContain('ours/tfjs-wasm (wall)');
    expect(head).not.toContain('ours/tfjs-wasm (GPU)');
    expect(model[col('ossify ms')]).toBe('136 (GPU 117)');
    expect(model[col('ours/tfjs-wasm (wall)')]).toBe('**1.20**');
    expect(model[col('ours/tfjs-webgpu (wall)')]).toBe('**0.06**');
    expect(model[col('ours/tfjs-webgpu (GPU)')]).toBe('-');
    expect(conv[col('tfjs-webgpu ms')]).toBe('45.4 (GPU 43.7)');
    expect(conv[col('ours/tfjs-webgpu (wall)')]).toBe('**0.30**');
    expect(conv[col('ours/tfjs-webgpu (GPU)')]).toBe('**0.29**');
    expect(conv[col('ours/tfjs-wasm (wall)')]).toBe('**2.25**');
    // The mixed ratio of the issue, 117 / 113 = 1.04, is nowhere.
    expect(md).not.toContain('1.04');
  });

  it('reads back the header it writes, so a report can be rewritten from its JSON rows', () => {
    const meta = {
      title: 'ossify benchmark (Node, lavapipe)',
      date: '2026-11-27 06:04:16 UTC',
      notes: ['first note', 'second'],
    };
    expect(parseMeta(markdown([ossify, wasm], meta))).toEqual(meta);
  });
});
