// @adapters all
import { describe, it, beforeAll, expect } from 'vitest';
import {
  Tensor,
  tidy,
  keep,
  noGrad,
  backward,
  runtime,
  shutdown,
  add,
  mul,
  relu,
  sum,
  matmul,
  reshape,
  scale,
  setVariant,
} from '../src/index.js';
import { sizeClass, matmulReference, resolveGemmVariant } from '../src/internals.js';
import { fillBuffer } from '../src/tensor.js';
import { setup, randArray, expectClose } from './helpers.js';
import { Adam } from '../src/optim/optimizers.js';

beforeAll(setup);

describe('buffer pool', () => {
  it('size classes waste at most 25 %', () => {
    for (const b of [1, 4, 255, 256, 257, 1000, 4096, 5000, 123456, 2 ** 27 + 1]) {
      const c = sizeClass(b);
      expect(c).toBeGreaterThanOrEqual(b);
      if (b > 256) expect(c / b).toBeLessThanOrEqual(1.25 + 1e-9);
    }
  });
  it('reuses freed buffers and counts live/peak bytes', () => {
    const rt = runtime();
    rt.flush();
    const before = rt.memory();
    const a = Tensor.zeros([1000]);
    const mid = rt.memory();
    expect(mid.liveBytes - before.liveBytes).toBe(sizeClass(4000));
    const buf = a.storage.buffer;
    a.dispose();
    expect(rt.memory().liveBytes).toBe(before.liveBytes);
    const b = Tensor.zeros([999]);
    expect(b.storage.buffer).toBe(buf); // same size class: the pooled buffer comes back
    b.dispose();
    expect(rt.memory().peakLiveBytes).toBeGreaterThanOrEqual(mid.liveBytes);
  });
  it('persistent tensors (weights, optimizer state) take their exact size, rounded to 16 bytes', async () => {
    const rt = runtime();
    const live0 = rt.memory().liveBytes;
    const w = Tensor.from(randArray(1101, 3), [1101], { persistent: true, requiresGrad: true });
    expect(sizeClass(1101 * 4)).toBeGreaterThan(4416); // a pooled tensor would take 5120
    expect(rt.memory().liveBytes - live0).toBe(4416);
    const z = Tensor.zeros([5], { persistent: true });
    expect(z.storage.byteSize).toBe(32);
    expectClose(await w.read(), randArray(1101, 3), { atol: 0, what: 'persistent upload' });
    expect(Array.from(await z.read())).toEqual([0, 0, 0, 0, 0]);
    const opt = new Adam([w], { lr: 0.1 });
    w.grad = Tensor.from(randArray(1101, 4), [1101]);
    opt.step();
    // The moments are persistent too.
    expect(rt.memory().liveBytes - live0).toBe(4416 + 32 + sizeClass(1101 * 4) + 2 * 4416);
    opt.dispose();
    for (const t of [w.grad, w, z]) t.dispose();
    expect(rt.memory().liveBytes).toBe(live0);
  });
  it('refuses a buffer beyond the adapter limit with a clear message', () => {
    const max = runtime().info.limits.maxStorageBufferBindingSize;
    expect(() => Tensor.empty([Math.ceil(max / 4) + 1024])).toThrow(/exceeds this adapter's limits/);
  });
});

describe('fill (several elements per invocation, vec4s when the count allows)', () => {
  for (const n of [1, 5, 1027, 1028, 70001, 70004]) {
    it(`n = ${n}: every element, and nothing past n`, async () => {
      const t = Tensor.zeros([n + 8]);
      fillBuffer(t.storage, -2.5, n);
      const v = await t.read();
      expect(v.subarray(0, n).every((x) => x === -2.5)).toBe(true);
      expect(Array.from(v.subarray(n))).toEqual(new Array(8).fill(0));
      t.dispose();
    });
  }
});

describe('bind groups', () => {
  it('are reused when a sequence of dispatches repeats, each dispatch reading its own parameters', async () => {
    const rt = runtime();
    const x = Tensor.from([1, 2, 3, 4]);
    const a = scale(x, 2);
    expectClose(await a.read(), [2, 4, 6, 8], { what: 'first run' }); // the read submits: parameters start over
    a.dispose(); // back to the pool: the next output of its size gets the same buffer
    const before = { ...rt.bindGroupStats };
    const b = scale(x, 3); // same kernels, buffers and parameter slots as a's dispatches
    // Every dispatch of b (the poison fill tests add, then the scale) found its bind group cached.
    expect(rt.bindGroupStats.hits, 'cached bind groups used').toBeGreaterThan(before.hits);
    expect(rt.bindGroupStats.misses, 'bind groups created').toBe(before.misses);
    expectClose(await b.read(), [3, 6, 9, 12], { what: 'second run, cached bind group, new parameters' });
    for (const t of [x, b]) t.dispose();
  });
});

describe('uniform parameters (every field set by name; reciprocals derived)', () => {
  const src = `struct Params { n: u32, nKw: u32, scale: f32, invNKw: f32 }
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
@compute @workgroup_size(1) fn main() { out[0] = f32(p.n) * p.scale; out[1] = p.invNKw; }`;
  it('a dispatch that leaves a field out, or sets one the struct lacks, throws naming it', () => {
    const rt = runtime();
    const k = rt.kernel('uniform-check', src);
    const out = Tensor.zeros([2]);
    expect(() => rt.dispatch(k, { out: out.storage }, { n: 3, nKw: 2 }, [1])).toThrow(
      "uniform-check: the dispatch does not set uniform field 'scale' (given: n, nKw)",
    );
    expect(() => rt.dispatch(k, { out: out.storage }, { n: 3, nKw: 2, scale: 1, bias: 0 }, [1])).toThrow(
      "uniform-check: uniform has no field 'bias' (fields: n, nKw, scale)",
    );
    expect(() => rt.dispatch(k, { out: out.storage }, { n: 3, nKw: 2, scale: 1, invNKw: 0.5 }, [1])).toThrow(
      "uniform-check: uniform field 'invNKw' is derived from 'nKw' (1 / nKw): give nKw only",
    );
    expect(() => rt.dispatch(k, { out: out.storage }, { n: 3, nKw: 0, scale: 1 }, [1])).toThrow(
      "uniform field 'nKw' is 0, and its reciprocal needs it > 0",
    );
    out.dispose();
  });
  it('fills invX with the f32 of 1 / X', async () => {
    const rt = runtime();
    const out = Tensor.zeros([2]);
    rt.dispatch(rt.kernel('uniform-check', src), { out: out.storage }, { n: 3, nKw: 7, scale: 0.5 }, [1]);
    expect(Array.from(await out.read())).toEqual([1.5, Math.fround(1 / 7)]);
    out.dispose();
  });
});

describe('compile statistics (what a fresh machine waits for)', () => {
  it('count each new pipeline once, with its creation time and (timestamps granted) its first dispatch', async () => {
    const rt = runtime();
    const before = await rt.compileStats();
    // A kernel no other test compiles: its source is new to this runtime.
    const body = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
struct Params { n: u32, v: f32 }
@group(0) @binding(1) var<uniform> p: Params;
fn update(i: u32) { out[i] = p.v + f32(i) * 0.5; }`;
    const t = Tensor.zeros([37]);
    for (const v of [1, 2]) rt.dispatchStream('compile-stats-probe', body, { out: t.storage }, { n: 37, v });
    expectClose(
      await t.read(),
      Array.from({ length: 37 }, (_, i) => 2 + i * 0.5),
      { what: 'probe kernel output' },
    );
    const after = await rt.compileStats();
    expect(after.pipelines - before.pipelines, 'one pipeline for two dispatches').toBe(1);
    expect(after.sources - before.sources).toBe(1);
    const row = after.byLabel.find((e) => e.label === 'compile-stats-probe');
    expect(row?.pipelines).toBe(1);
    expect(row!.createMs).toBeGreaterThan(0);
    expect(Number.isFinite(row!.firstDispatchMs)).toBe(true);
    // lavapipe compiles on the first dispatch, inside its timestamps (SwiftShader's may read 0 for a small run).
    if (rt.info.kind === 'lavapipe') expect(row!.firstDispatchMs, 'first dispatch timed').toBeGreaterThan(0);
    expect(after.compilesOnFirstRun).toBe(rt.info.kind === 'lavapipe');
    expect(after.compileMs).toBe(after.compilesOnFirstRun ? after.firstDispatchMs : after.createMs);
    t.dispose();
  });
  it('one GEMM pipeline serves every M and N of a loader variant on CPU adapters (subgroup core)', async () => {
    const rt = runtime();
    setVariant('gemm', undefined);
    const shapes: [number, number, number][] = [
      [1, 8, 4],
      [5, 12, 16],
      [18, 40, 24],
      [72, 16, 132],
      [301, 8, 36],
    ];
    // Pipelines per GEMM core ('matmul:subgroup', 'matmul:subgroup8', ...): a shape may pick another core.
    const gemms = async (): Promise<Map<string, number>> =>
      new Map(
        (await rt.compileStats()).byLabel
          .filter((e) => e.label.startsWith('matmul:'))
          .map((e) => [e.label, e.pipelines]),
      );
    const before = await gemms();
    for (const [M, K, N] of shapes) {
      const a = randArray(M * K, M);
      const b = randArray(K * N, N);
      const c = matmul(Tensor.from(a, [M, K]), Tensor.from(b, [K, N]));
      expectClose(await c.read(), matmulReference(a, [M, K], b, [K, N], false, false), {
        what: `${M}x${K}x${N}`,
        atol: 1e-5,
      });
    }
    const after = await gemms();
    const added = [...after].map(([label, n]) => n - (before.get(label) ?? 0));
    const sub = resolveGemmVariant({ label: 'matmul', M: 18, N: 24, K: 40 });
    // K and N all multiples of 4 (vec4 bindings): one loader variant per core. Elsewhere each launch shape may differ.
    if (rt.info.isCpu && sub.sgLanes > 0)
      for (const n of added) expect(n, 'pipelines of one core for five shapes').toBeLessThanOrEqual(1);
    else expect(added.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(shapes.length);
  });
});

describe('long waits', () => {
  it('say on stderr how long they waited, for how many dispatches, which kernels run for the first time', async () => {
    const rt = runtime();
    // A kernel no other test compiles, slow enough (a loop per element) to outlast a 5 ms notice.
    const body = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
struct Params { n: u32, steps: u32 }
@group(0) @binding(1) var<uniform> p: Params;
fn update(i: u32) { var v = f32(i); for (var s = 0u; s < p.steps; s++) { v = fract(v * 1.0001 + 0.5); } out[i] = v; }`;
    const t = Tensor.zeros([64]);
    const lines: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void lines.push(args.join(' '));
    rt.waitNoticeS = 0.005;
    try {
      rt.dispatchStream('wait-notice-probe', body, { out: t.storage }, { n: 64, steps: 400_000 });
      await t.read();
    } finally {
      rt.waitNoticeS = 0;
      console.error = original;
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^ossify: still waiting for the GPU after \d+ s, for \d+ dispatches; /);
    expect(lines[0]).toMatch(/; kernels run for the first time: .*wait-notice-probe/);
    // Off again: a wait says nothing.
    const n = lines.length;
    await t.read();
    expect(lines.length).toBe(n);
    t.dispose();
  });
});

describe('scopes and disposal', () => {
  it('tidy frees intermediates and keeps what it returns', async () => {
    const rt = runtime();
    const x = Tensor.from([1, 2, 3]);
    const live0 = rt.memory().liveBytes;
    const y = tidy(() => {
      const t1 = add(x, x);
      const t2 = mul(t1, t1);
      return add(t2, x);
    });
    expect(rt.memory().liveBytes - live0).toBe(sizeClass(12));
    expect([...(await y.read())]).toEqual([5, 18, 39]);
    y.dispose();
    x.dispose();
  });
  it('using and keep', () => {
    const rt = runtime();
    const live0 = rt.memory().liveBytes;
    let kept: Tensor | undefined;
    tidy(() => {
      using t = Tensor.zeros([10]);
      void t;
      kept = keep(Tensor.ones([10]));
    });
    expect(rt.memory().liveBytes - live0).toBe(sizeClass(40));
    kept!.dispose();
    expect(rt.memory().liveBytes).toBe(live0);
  });
  it('use after dispose names the tensor', () => {
    const t = Tensor.zeros([2]);
    t.name = 'w';
    t.dispose();
    expect(t.disposed).toBe(true);
    expect(() => relu(t)).toThrow(/w\) was used after dispose/);
  });
  it('views share storage and survive their source handle', async () => {
    const x = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]);
    const v = reshape(x, [3, 2]);
    x.dispose();
    expect([...(await v.read())]).toEqual([1, 2, 3, 4, 5, 6]);
    v.dispose();
  });
});

describe('autograd', () => {
  it('accumulates gradients across backward calls and through shared inputs', async () => {
    const x = Tensor.from([1, -2, 3], [3], { requiresGrad: true });
    // y = sum(x*x + relu(x)) ; dy/dx = 2x + (x>0)
    for (let i = 0; i < 2; i++) tidy(() => backward(sum(add(mul(x, x), relu(x)))));
    expectClose(await x.grad!.read(), [2 * (2 + 1), 2 * -4, 2 * (6 + 1)]);
    x.grad!.dispose();
    x.dispose();
  });
  it('a second backward() through a consumed graph says so instead of stopping there silently', async () => {
    const x = Tensor.from([1, 2, 3], [3], { requiresGrad: true });
    const h = mul(x, x);
    const loss = sum(h);
    backward(loss);
    expectClose(await x.grad!.read(), [2, 4, 6], { what: 'first backward' });
    expect(() => backward(loss)).toThrow(/earlier backward\(\) consumed.*add the losses/);
    // A second loss that shares the consumed part of the graph (h) as well.
    const other = sum(scale(h, 2));
    expect(() => backward(other)).toThrow(new RegExp(`reached ${h.toString().replace(/[[\]]/g, '\\$&')}`));
    expectClose(await x.grad!.read(), [2, 4, 6], { what: 'x.grad untouched by the refused calls' });
    expect(loss.grad).toBeNull();
    for (const t of [x, h, loss, other]) t.dispose();
  });

  it('noGrad records nothing', () => {
    const x = Tensor.from([1, 2], [2], { requiresGrad: true });
    tidy(() => {
      const y = noGrad(() => scale(x, 2));
      expect(y.requiresGrad).toBe(false);
      expect(y.node).toBeNull();
    });
    x.dispose();
  });
  it('a training step frees every saved activation and temporary', async () => {
    const rt = runtime();
    const live0 = rt.memory().liveBytes;
    const w1 = Tensor.from(randArray(8 * 16, 1), [8, 16], { requiresGrad: true });
    const w2 = Tensor.from(randArray(16 * 4, 2), [16, 4], { requiresGrad: true });
    const x = Tensor.from(randArray(5 * 8, 3), [5, 8]);
    const step = () =>
      tidy(() => {
        const loss = sum(matmul(relu(matmul(x, w1)), w2));
        backward(loss);
      });
    step();
    await rt.sync();
    const live = rt.memory().liveBytes;
    step(); // gradients accumulate in place of the old ones: no growth
    expect(rt.memory().liveBytes).toBe(live);
    for (const t of [w1, w2]) {
      t.grad!.dispose();
      t.grad = null;
    }
    // Only the parameters and the input remain.
    const params = w1.storage.byteSize + w2.storage.byteSize + x.storage.byteSize;
    expect(rt.memory().liveBytes - live0).toBe(params);
    for (const t of [w1, w2, x]) t.dispose();
  });
  it('forward graphs dropped by tidy without backward free their saved activations', () => {
    const rt = runtime();
    const w = Tensor.from(randArray(64, 4), [8, 8], { requiresGrad: true });
    const live0 = rt.memory().liveBytes;
    tidy(() => {
      relu(matmul(w, w));
    });
    expect(rt.memory().liveBytes).toBe(live0);
    w.dispose();
  });
  it('disposing a returned output without backward frees its graph, unless another output still needs it', async () => {
    const rt = runtime();
    const w = Tensor.from(randArray(64, 5), [8, 8], { requiresGrad: true });
    const live0 = rt.memory().liveBytes;
    // Two outputs share the hidden layer h: disposing one keeps h's saved activations for the other.
    const [a, b] = tidy(() => {
      const h = relu(matmul(w, w));
      return [sum(matmul(h, w)), sum(mul(h, h))];
    });
    const withGraph = rt.memory().liveBytes;
    expect(withGraph - live0).toBeGreaterThan(a.storage.byteSize + b.storage.byteSize); // saved activations
    a.dispose();
    expect(rt.memory().liveBytes).toBeLessThan(withGraph);
    backward(b); // still works: d/dw sum(relu(w w)^2)
    const wv = await w.read();
    const want = new Float64Array(64);
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++) {
        let hij = 0;
        for (let k = 0; k < 8; k++) hij += wv[i * 8 + k] * wv[k * 8 + j];
        if (hij <= 0) continue;
        // d(h_ij^2)/dw_ik = 2 h_ij w_kj ; d/dw_kj = 2 h_ij w_ik
        for (let k = 0; k < 8; k++) {
          want[i * 8 + k] += 2 * hij * wv[k * 8 + j];
          want[k * 8 + j] += 2 * hij * wv[i * 8 + k];
        }
      }
    expectClose(await w.grad!.read(), want, { atol: 1e-4, rtol: 1e-4, what: 'dw' });
    w.grad!.dispose();
    w.grad = null;
    b.dispose();
    expect(rt.memory().liveBytes).toBe(live0);
    // A single output: dispose alone frees everything its graph saved.
    const y = tidy(() => relu(matmul(relu(matmul(w, w)), w)));
    expect(rt.memory().liveBytes - live0).toBeGreaterThan(y.storage.byteSize);
    y.dispose();
    expect(rt.memory().liveBytes).toBe(live0);
    w.dispose();
  });
  it('records a step into few submissions (no submit per dispatch)', async () => {
    const rt = runtime();
    await rt.sync();
    const s0 = rt.submits;
    const d0 = rt.dispatches;
    const w = Tensor.from(randArray(64, 5), [8, 8], { requiresGrad: true });
    tidy(() => {
      let h = w;
      for (let i = 0; i < 10; i++) h = relu(matmul(h, w));
      backward(sum(h));
    });
    const dispatched = rt.dispatches - d0;
    expect(dispatched).toBeGreaterThan(40);
    expect(rt.submits - s0).toBeLessThanOrEqual(1); // only the upload of w flushed
    await rt.sync();
    w.grad!.dispose();
    w.dispose();
  });
});

describe('failed calls and errors leak nothing (issue #24)', () => {
  it('a tidy() whose function throws frees everything it made, graphs included', () => {
    const rt = runtime();
    const w = Tensor.from([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const live = rt.memory().liveBytes;
    for (let i = 0; i < 5; i++) {
      expect(() =>
        tidy(() => {
          const h = relu(matmul(w, w)); // a graph holding saved activations
          add(h, h);
          Tensor.zeros([1000]);
          throw new Error('step failed');
        }),
      ).toThrow('step failed');
    }
    expect(rt.memory().liveBytes).toBe(live);
    w.dispose();
  });
  it('Tensor.zeros([0]) and other bad shapes are refused before anything is allocated', () => {
    const rt = runtime();
    const live = rt.memory().liveBytes;
    const buffers = rt.memory().liveBuffers;
    expect(() => Tensor.zeros([0])).toThrow(/shape \[0\] is not a valid shape.*positive integers/);
    expect(() => Tensor.empty([2, -3])).toThrow(/shape \[2, -3\] is not a valid shape/);
    expect(() => Tensor.ones([1.5])).toThrow(/shape \[1.5\] is not a valid shape/);
    expect(() => Tensor.from([1, 2], [2, NaN])).toThrow(/shape \[2, NaN\] is not a valid shape/);
    expect(rt.memory().liveBytes).toBe(live);
    expect(rt.memory().liveBuffers).toBe(buffers);
  });
  it('an op given a disposed tensor names the argument and allocates nothing', () => {
    const rt = runtime();
    const a = Tensor.from([1, 2, 3, 4], [2, 2]);
    const b = Tensor.from([1, 2, 3, 4], [2, 2]);
    b.dispose();
    const live = rt.memory().liveBytes;
    expect(() => matmul(a, b)).toThrow(/matmul argument b: tensor #\d+ \[2, 2\] was used after dispose\(\)/);
    expect(() => add(a, 3 as unknown as Tensor)).toThrow(/add argument b must be a Tensor, got 3/);
    expect(rt.memory().liveBytes).toBe(live);
    a.dispose();
  });
  it('matmul splits must be an integer in [1, 65535] (0 gave zeros, NaN a TypeError)', async () => {
    const a = Tensor.from([1, 2, 3, 4], [2, 2]);
    for (const splits of [0, NaN, -1, 0.5, 1e9])
      expect(() => matmul(a, a, { splits })).toThrow(
        new RegExp(`matmul option splits must be an integer in \\[1, 65535\\], got ${splits}`),
      );
    expectClose(await matmul(a, a, { splits: 2 }).read(), [7, 10, 15, 22]);
    a.dispose();
  });
  it('backward() with a seed of the wrong shape says so (it failed with "matmul takes 2-D tensors")', () => {
    const w = Tensor.from([1, 2, 3, 4], [2, 2], { requiresGrad: true });
    const y = matmul(w, w);
    const seed = Tensor.zeros([3]);
    expect(() => backward(y, seed)).toThrow(/backward grad must have the shape of the loss \[2, 2\].*got \[3\]/);
    for (const t of [y, seed, w]) t.dispose();
  });
});

// Last in the file: it replaces the runtime (the tests above keep theirs).
describe('tensors of a previous runtime (issue #24)', () => {
  it("are refused by name, and disposing them leaves the new runtime's counters and pool alone", async () => {
    const old = [Tensor.from([1, 2, 3], [3]), Tensor.zeros([1000]), Tensor.from([1, 2, 3, 4], [2, 2])];
    old[2].name = 'w';
    shutdown();
    await setup();
    const rt = runtime();
    const x = Tensor.from([1, 2, 3, 4], [2, 2]);
    const before = rt.memory();
    expect(() => relu(old[2])).toThrow(
      /relu argument x: tensor #\d+ \[2, 2\] \(w\) belongs to a runtime that shutdown\(\) destroyed.*after init\(\)/,
    );
    expect(() => add(x, old[0])).toThrow(/add argument b: .*shutdown\(\) destroyed/);
    await expect(old[1].read()).rejects.toThrow(/shutdown\(\) destroyed/);
    for (const t of old) t.dispose();
    const after = rt.memory();
    expect([after.liveBytes, after.liveBuffers, after.pooledBytes]).toEqual([
      before.liveBytes,
      before.liveBuffers,
      before.pooledBytes,
    ]);
    // The new runtime computes: its pool holds no dead buffer.
    const y = add(x, x);
    const z = matmul(x, y);
    expectClose(await y.read(), [2, 4, 6, 8], { what: 'add' });
    expectClose(await z.read(), [14, 20, 30, 44], { what: 'matmul' });
    expectClose(await Tensor.from([5, 6], [2]).read(), [5, 6], { what: 'upload' });
    for (const t of [x, y, z]) t.dispose();
  });
});
