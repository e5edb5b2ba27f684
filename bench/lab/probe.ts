/**
 * Adapter probe: what a compute shader's basic operations cost on the running adapter, measured with
 * GPU timestamps. CPU adapters (lavapipe, SwiftShader) run a workgroup's invocations as SIMD lanes, so
 * their costs differ from a GPU's in ways that decide kernel design: a loop pays per iteration for each
 * loop-carried value, and every load whose address differs between lanes is a gather.
 * Run: `node bench/lab/run.mjs --probe`. Each case is a loop of `iters` iterations over 8 vec4
 * accumulators (multiply-adds); the cases add loads from storage, workgroup or private memory, or a
 * barrier, to that loop.
 */
import { runtime, Tensor } from '../../src/index.js';

const WG = 64;
const GROUPS = 64;
const ITERS = 1000;

/**
 * The probe kernel around a loop body. Workgroup and private arrays (and the barrier that fills the
 * workgroup array) are declared only for the cases that use them: on SwiftShader a barrier anywhere in
 * a kernel switches all of it to a slower way of running the workgroup.
 */
function kernel(body: string, memory: 'none' | 'workgroup' | 'private'): string {
  const shared = memory === 'workgroup';
  const priv = memory === 'private';
  return `
struct Params { iters: u32, n: u32 }
@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;
${shared ? 'var<workgroup> shared_a: array<vec4<f32>, 1024>;' : ''}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
${
  shared
    ? '  for (var j = 0u; j < 16u; j++) { shared_a[li * 16u + j] = a[(gid.x * 16u + j) % p.n]; ' +
      '}\n  workgroupBarrier();'
    : ''
}
${
  priv
    ? '  var private_a: array<vec4<f32>, 64>;\n  for (var j = 0u; j < 64u; j++) { private_a[j] = a[(gid.x + j) ' +
      '% p.n]; }'
    : ''
}
  var acc0 = vec4<f32>(f32(gid.x)); var acc1 = acc0 * 0.5; var acc2 = acc0 * 0.25; var acc3 = acc0 * 0.125;
  var acc4 = acc0 * 0.3; var acc5 = acc0 * 0.6; var acc6 = acc0 * 0.7; var acc7 = acc0 * 0.9;
  var b = vec4<f32>(1.0001, 0.9999, 1.0, 0.5);
  for (var i = 0u; i < p.iters; i++) {
${body}
  }
  c[gid.x] = acc0 + acc1 + acc2 + acc3 + acc4 + acc5 + acc6 + acc7;
}`;
}

const FMAS = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => `    acc${r} = acc${r} * b + b;`).join('\n');
/** `steps` blocks of (b = load(j); 8 vec4 multiply-adds) per loop iteration. */
const body = (steps: number, load: (j: number) => string): string =>
  [...Array(steps).keys()].map((j) => `    b = ${load(j)};\n${FMAS}`).join('\n');

/** name, what it shows, loop body, vec4 multiply-adds per lane and iteration, memory it declares. */
const CASES: [string, string, string, number, 'none' | 'workgroup' | 'private'][] = [
  ['fma x8', '8 vec4 FMAs per iteration, no loads', body(1, () => 'b.yzwx'), 8, 'none'],
  ['fma x32', 'the same work, 4x fewer iterations', body(4, () => 'b.yzwx'), 32, 'none'],
  [
    'storage gather',
    '32 FMAs + 4 vec4 loads from a storage buffer, addresses differing per lane',
    body(4, (j) => `a[(gid.x * 7u + i * 13u + ${j}u) % p.n]`),
    32,
    'none',
  ],
  [
    'storage broadcast',
    'the same loads at one address for all lanes',
    body(4, (j) => `a[(i * 13u + ${j}u) % p.n]`),
    32,
    'none',
  ],
  [
    'private gather',
    'the same loads from a function-local array',
    body(4, (j) => `private_a[(li * 7u + i * 13u + ${j}u) % 64u]`),
    32,
    'private',
  ],
  [
    'workgroup gather',
    'the same loads from workgroup memory (one barrier before the loop)',
    body(4, (j) => `shared_a[(li * 7u + i * 13u + ${j}u) % 1024u]`),
    32,
    'workgroup',
  ],
  [
    'workgroup + barrier',
    'workgroup gathers and one workgroupBarrier per iteration',
    body(4, (j) => `shared_a[(li * 7u + i * 13u + ${j}u) % 1024u]`) + '\n    workgroupBarrier();',
    32,
    'workgroup',
  ],
];

/** Time every case (median of `repeats` GPU-timestamped dispatches) and print a Markdown table. */
export async function probe(repeats = 5): Promise<void> {
  const rt = runtime();
  if (!rt.info.features.includes('timestamp-query'))
    throw new Error("ossify lab: the probe needs the adapter's 'timestamp-query' feature");
  const n = 1 << 16;
  const a = Tensor.from(
    Float32Array.from({ length: 4 * n }, (_, i) => Math.sin(i)),
    [n, 4],
  );
  const c = Tensor.empty([WG * GROUPS, 4]);
  console.log('| case | what | ms | GFLOP/s |');
  console.log('|---|---|---:|---:|');
  for (const [name, what, loop, fmas, memory] of CASES) {
    const iters = Math.round((ITERS * 32) / fmas); // the same FLOPs in every case
    const k = rt.kernel(`probe:${name}`, kernel(loop, memory));
    rt.dispatch(k, { a: a.storage, c: c.storage }, { iters, n }, [GROUPS]);
    await rt.sync();
    const ms: number[] = [];
    for (let i = 0; i < repeats; i++) {
      rt.startProfile(4);
      rt.dispatch(k, { a: a.storage, c: c.storage }, { iters, n }, [GROUPS]);
      ms.push((await rt.stopProfile()).reduce((s, x) => s + x.ms, 0));
    }
    const med = ms.sort((x, y) => x - y)[Math.floor(ms.length / 2)];
    const flops = WG * GROUPS * iters * fmas * 4 * 2;
    console.log(`| ${name} | ${what} | ${med.toFixed(1)} | ${(flops / med / 1e6).toFixed(2)} |`);
  }
  a.dispose();
  c.dispose();
}
