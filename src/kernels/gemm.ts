/**
 * The GEMM engine behind matmul and every convolution: a tiled core plus op-specific loaders that say how to
 * read A and B and where to write C. Split-k runs long reductions (e.g. over N*H*W) across more workgroups.
 */
import { runtime, type BufferLike } from '../gpu/runtime.js';
import { fillTemplate, reluWgsl } from '../gpu/wgsl.js';
import { Tensor, type Shape } from '../tensor.js';
import { variant } from './variants.js';
import regtileSrc from '../../shaders/gemm_regtile.wgsl';
import sharedSrc from '../../shaders/gemm_shared.wgsl';
import splitsSrc from '../../shaders/gemm_splits.wgsl';

/**
 * GEMM core variants: 'shared' (workgroup-memory tiles, the GPU default), 'regtile' (8 rows x vec4 per invocation,
 * no barriers), 'regtile4' (4 rows), 'subgroup' (32 rows x vec4, A's rows shared across a subgroup: the CPU default
 * where fixed-size subgroups are granted, else it runs as 'regtile') and 'subgroup8' (8 columns where A is read as
 * vec4s, else 'subgroup'; the default with 4-lane subgroups, bench/LAB.md #29, #30). `autotune` picks per shape.
 */
export type GemmVariant = 'regtile' | 'regtile4' | 'shared' | 'subgroup' | 'subgroup8';
/** Per variant: most rows (bench/LAB.md #25) and columns per invocation, and whether subgroup lanes share A's rows. */
const FORMS: Record<GemmVariant, { rows: number; cols: 4 | 8; subgroup: boolean }> = {
  shared: { rows: 8, cols: 4, subgroup: false },
  regtile: { rows: 8, cols: 4, subgroup: false },
  regtile4: { rows: 4, cols: 4, subgroup: false },
  subgroup: { rows: 32, cols: 4, subgroup: true },
  subgroup8: { rows: 32, cols: 8, subgroup: true },
};
/** Every {@link GemmVariant}, for `setVariant('gemm', ...)` and `autotune`. */
export const GEMM_VARIANTS = Object.keys(FORMS) as readonly GemmVariant[];
/** Invocations per workgroup in the register-tiled variants. */
const REG_INVOCATIONS = 64;
const pow2ceil = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/**
 * The register-tiled launch shape of an M x N output: rows per invocation `tm` and the workgroup (wgX, wgY). The
 * plain forms fit it to narrow and short outputs; the subgroup forms take one shape for every M and N (each shape is
 * a pipeline, and CPU adapters compile slowly: bench/LAB.md #55).
 */
function regShape(v: GemmVariant, M: number, N: number): { tm: number; wgX: number; wgY: number } {
  if (FORMS[v].subgroup) {
    // A whole subgroup per workgroup row: lanes share A's rows.
    const sg = runtime().info.subgroupSize?.min ?? 1;
    return { tm: FORMS[v].rows, wgX: sg, wgY: Math.max(1, Math.floor(REG_INVOCATIONS / sg)) };
  }
  const tm = Math.min(FORMS[v].rows, pow2ceil(M));
  // Lanes left idle when `count` items run in workgroups `size` wide.
  const idle = (count: number, size: number): number => Math.ceil(count / size) * size - count;
  const quads = Math.ceil(N / FORMS[v].cols); // column groups, one per invocation
  let wgX = Math.min(16, pow2ceil(quads));
  // Half as wide when that idles fewer columns (bench/LAB.md #28).
  if (wgX / 2 >= 1 && idle(quads, wgX / 2) < idle(quads, wgX)) wgX /= 2;
  const rowGroups = Math.ceil(M / tm);
  let wgY = Math.min(REG_INVOCATIONS / wgX, pow2ceil(rowGroups));
  // Likewise shorter while that idles fewer rows, keeping at least 16 invocations per workgroup.
  while (wgY > 1 && wgX * wgY > 16 && idle(rowGroups, wgY / 2) < idle(rowGroups, wgY)) wgY /= 2;
  return { tm, wgX, wgY };
}

/**
 * Lanes that share A's rows in the subgroup form, or 0 when it cannot run: it needs 'subgroups', a fixed subgroup
 * size (4 on SwiftShader, 8 on lavapipe) and subgroups that fit in a workgroup row.
 */
function subgroupLanes(tm: number, wgX: number): number {
  const info = runtime().info;
  const s = info.subgroupSize;
  if (!info.features.includes('subgroups') || !s || s.min !== s.max || s.min < 2 || s.min > wgX || wgX % s.min !== 0)
    return 0;
  return tm >= 2 ? Math.min(s.min, tm) : 0;
}

/** Rows of the subgroup core's blocks: an invocation skips a block that starts at or past M. */
const ROW_BLOCK = 8;

/** Workgroups (x, y) that one split of an M x N GEMM needs with this variant. */
function tiles(v: GemmVariant, M: number, N: number): [number, number] {
  if (v === 'shared') return [Math.ceil(N / 64), Math.ceil(M / 64)];
  const { tm, wgX, wgY } = regShape(v, M, N);
  return [Math.ceil(N / (FORMS[v].cols * wgX)), Math.ceil(M / (tm * wgY))];
}

/** How many k-splits: enough workgroups to fill the device, each split at least 256 deep. */
function chooseSplits(v: GemmVariant, M: number, N: number, K: number): number {
  const [x, y] = tiles(v, M, N);
  const cpu = runtime().info.isCpu;
  const target = cpu ? 16 : 264; // ~2 waves of an H100's 132 SMs
  // CPU adapters run a workgroup per core: few workgroups (short M and N) leave cores idle sooner.
  if (x * y >= target || K < (cpu ? 512 : 1024)) return 1;
  return Math.max(1, Math.min(Math.ceil(target / (x * y)), Math.floor(K / 256), 64));
}

/** One GEMM launch: the op's loaders, sizes, bindings and options. */
export interface GemmCall {
  label: string;
  /** WGSL of the loaders: Params, bindings and the functions of the loader contract (see checkLoaders). */
  loaders: string;
  M: number;
  N: number;
  K: number;
  /** Storage bindings except `c`, by name. */
  inputs: Record<string, BufferLike>;
  /** Uniform fields beyond M, N, K, kPerSplit. */
  params: Record<string, number>;
  /** Override constants of the loaders (compile-time variants, e.g. transposes). */
  constants?: Record<string, number>;
  /** Shape of the result (M * N elements, row-major [M, N] order as storeC writes it). */
  outShape: Shape;
  /** Force a split count (tests); by default chosen from the shape. */
  splits?: number;
  /** K is this many blocks, each its own product (one split each): C is [batches, M * N]; no epilogue or `into`. */
  batches?: number;
  /** Loaders with aKStep, B bound as vec4s: with K % 4 == 0 the subgroup core steps k by 4. */
  kStep4?: boolean;
  /** Loaders with loadA4 (one vec4 load): with kStep4 the subgroup core reads A four k at a time (bench/LAB.md #21). */
  vecA?: boolean;
  /** Loaders with loadA4rows (one vec4 load), M % 4 == 0: the subgroup core reads four rows per lane and k. */
  rowsA4?: boolean;
  /** Loaders with aKNext, cheaper than aK (k steps of 1 use it). */
  kNext?: boolean;
  /** Applied to every element of C as it is stored ({@link GemmEpilogue}); needs `epiMode: u32` in Params. */
  epilogue?: GemmEpilogue;
  /** Store C into a wider tensor (returned; checked by the caller); needs `ldc` and `cOff` in Params. */
  into?: GemmTarget;
}

/**
 * Where a GEMM may store C instead of a fresh tensor: C[m, n] at element m * ldc + offset + n of `tensor`
 * (channels of a wider concatenation, or a weight gradient's live rows).
 */
export type GemmTarget = { tensor: Tensor; ldc: number; offset: number };

/**
 * The activations a GEMM epilogue applies after its affine map, as WGSL of `y` (a vec4<f32>). swish (SiLU) is
 * y * sigmoid(y), written y / (1 + e^-y) (-0 where e^-y overflows).
 */
export const EPILOGUE_ACTIVATIONS = {
  linear: 'y',
  relu: reluWgsl('y', 'vec4<f32>()'),
  sigmoid: '1.0 / (1.0 + exp(-y))',
  swish: 'y / (1.0 + exp(-y))',
} as const;
/** An activation of {@link EPILOGUE_ACTIVATIONS} ('linear': the affine map alone). */
export type EpilogueActivation = keyof typeof EPILOGUE_ACTIVATIONS;
const ACTIVATIONS = Object.keys(EPILOGUE_ACTIVATIONS) as EpilogueActivation[];

/**
 * A per-column affine map, then an activation, applied to C as it is stored: c[m, n] = act(c[m, n] *
 * table[n] + table[N + n]), `table` = [scale(N), shift(N)] (e.g. an inference batch norm).
 */
export interface GemmEpilogue {
  table: BufferLike;
  activation: EpilogueActivation;
}

/** The uniform `epiMode`: 0 none, else 1 + the activation's index (one pipeline for all, bench/LAB.md #59). */
const epilogueMode = (e?: GemmEpilogue | null): number => (e ? 1 + ACTIVATIONS.indexOf(e.activation) : 0);

// The activation by mode (a uniform switch; every invocation takes the same case).
const EPI_ACT = `fn epiAct(y: vec4<f32>) -> vec4<f32> {
  switch p.epiMode {
${ACTIVATIONS.slice(1)
  .map((a, i) => `    case ${i + 2}u: { return ${EPILOGUE_ACTIVATIONS[a]}; }`)
  .join('\n')}
    default: { return y; }
  }
}`;
// The epilogue of the fused store and the split-k pass: their uniform \`p\` has N and epiMode; \`epi\` is
// bound to any read-only buffer when epiMode is 0.
const EPILOGUE_FN = `@group(0) @binding(15) var<storage, read> epi: array<f32>; // [scale(N), shift(N)]
${EPI_ACT}
fn epilogue(n: u32, v: f32) -> f32 {
  if (p.epiMode == 0u) { return v; }
  return epiAct(vec4<f32>(v * epi[n] + epi[p.N + n])).x;
}`;
/**
 * The fields of the loaders' Params (memoised). With `epiMode: u32` the kernel carries the epilogue, selected per
 * dispatch (plain and fused launches share one pipeline); with `ldc` and `cOff`, C may go into a wider tensor.
 */
const paramsOf = memo(
  (loaders: string) =>
    new Set(Array.from(/struct\s+Params\s*\{([^}]*)\}/.exec(loaders)?.[1].matchAll(/(\w+)\s*:/g) ?? [], (m) => m[1])),
);
/**
 * The cores map each row of 4 accumulated columns before storing it: `colMap(n0)` once per column group,
 * `rowMap(v, colMap)` per row. The epilogue reads its table once per group (bench/LAB.md #55).
 */
const IDENTITY_ROW_MAP = `
fn colMap(n0: u32) -> mat2x4<f32> { return mat2x4<f32>(); }
fn rowMap(v: vec4<f32>, cm: mat2x4<f32>) -> vec4<f32> { return v; }
`;
const EPILOGUE_ROW_MAP = `
// The epilogue's scale and shift of columns n0..n0+3 (clamped to N - 1: columns past N are not stored).
fn colMap(n0: u32) -> mat2x4<f32> {
  if (p.epiMode == 0u) { return mat2x4<f32>(); }
  let n = min(vec4<u32>(n0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(p.N - 1u));
  return mat2x4<f32>(vec4<f32>(epi[n.x], epi[n.y], epi[n.z], epi[n.w]),
                    vec4<f32>(epi[p.N + n.x], epi[p.N + n.y], epi[p.N + n.z], epi[p.N + n.w]));
}
fn rowMap(v: vec4<f32>, cm: mat2x4<f32>) -> vec4<f32> {
  if (p.epiMode == 0u) { return v; }
  return epiAct(v * cm[0] + cm[1]);
}
`;
/** `f` memoised by its arguments (a lone string is its own key); the same string object keeps pipeline lookup cheap. */
export function memo<A extends unknown[], T>(f: (...args: A) => T): (...args: A) => T {
  const m = new Map<string, T>();
  return (...args) => {
    const key = args.length === 1 && typeof args[0] === 'string' ? args[0] : JSON.stringify(args);
    let v = m.get(key);
    if (v === undefined) m.set(key, (v = f(...args)));
    return v;
  };
}
const SPLITS = fillTemplate(splitsSrc, { EPILOGUE: EPILOGUE_FN });

/** Options of the register-tiled core: how it reads A, its columns, its k loop (see {@link regtileCore}). */
export interface CoreOptions {
  /** Subgroup lanes sharing A's rows (the subgroup form); 0 for the plain form. */
  sgLanes?: number;
  /** k steps of 4 with `aKStep` (K % 4 == 0). */
  k4?: boolean;
  /** With `k4` (subgroup form): A[m, k..k+3] as one vec4 per row (`loadA4`), broadcast as a vec4. */
  a4?: boolean;
  /** Subgroup form, k steps of 1: A[m..m+3, k] as one vec4 (`loadA4rows`) per four rows. */
  rows4?: boolean;
  /** Columns per invocation: one vec4 (4) or two (8, with `a4` or `rows4` only). */
  cols?: 4 | 8;
  /** k steps of 1 carry aK along with the loaders' aKNext instead of decomposing every k. */
  kNext?: boolean;
  /** With `kNext` and `rows4`: four such steps per loop iteration (bench/LAB.md #27, #34). */
  unrollNext?: boolean;
}

/**
 * The register-tiled core for `tm` rows per invocation, per-row statements unrolled into variables
 * (`{{LOADERS}}` left to fill; memoised, shared with the kernel lab). In the subgroup form (`sgLanes` > 0)
 * lane l loads A's rows l, l + sgLanes, ... (with `rows4`: rows 4l..4l+3, ... as vec4s) and broadcasts them.
 */
export const regtileCore = memo(buildCore);

function buildCore(
  tm: number,
  { sgLanes = 0, k4 = false, a4 = false, rows4 = false, cols = 4, kNext = false, unrollNext = false }: CoreOptions = {},
): string {
  if ((a4 || rows4) && !sgLanes) throw new Error('ossify: internal error: vec4 reads of A need the subgroup form');
  if (rows4 && (a4 || tm % 4 !== 0))
    throw new Error('ossify: internal error: the four-row read of A needs tm % 4 == 0 and excludes a4');
  if (cols === 8 && !a4 && !rows4)
    throw new Error('ossify: internal error: 8 columns per invocation need a vec4 read of A');
  const rows = [...Array(tm).keys()];
  // Column groups of 4 (one vec4 accumulator per row and group) starting at c0: n0 is the frame's
  // origin for 4 columns per invocation, so with 8 the invocation's columns start at 2 * n0.
  const groups = [...Array(cols / 4).keys()];
  const col = (g: number): string => (g ? `c0 + ${4 * g}u` : 'c0');
  const acc = rows.map((r) => groups.map((g) => `  var acc${r}_${g} = vec4<f32>();`).join('')).join('\n');
  const store = [
    ...groups.map((g) => `  let cm${g} = colMap(${col(g)});`),
    ...rows.flatMap((r) =>
      groups.map((g) => `  storeRow(m0 + ${r}u, ${col(g)}, wid.z, rowMap(acc${r}_${g}, cm${g}));`),
    ),
  ].join('\n');
  // rows4: L lanes load four rows each per round (L = sgLanes, fewer when tm is short), tm / (4L) rounds.
  const L = rows4 ? Math.min(sgLanes, tm / 4) : 0;
  const loads = [...Array(rows4 ? tm / (4 * L) : sgLanes ? Math.ceil(tm / sgLanes) : tm).keys()];
  const decl = rows4
    ? loads.map((j) => `  let row${j} = aRow(m0 + (lane % ${L}u) * 4u + ${j * 4 * L}u);`)
    : sgLanes
      ? loads.map((j) => `  let row${j} = aRow(m0 + lane % ${sgLanes}u + ${j * sgLanes}u);`)
      : rows.map((r) => `  let row${r} = aRow(m0 + ${r}u);`);
  // Subgroup form: rows in blocks (at least a load's `sgLanes` rows), each skipped where it starts at or
  // past M, with the loads only it uses inside (the four-row reads load outside).
  const block = rows4 ? ROW_BLOCK : Math.max(ROW_BLOCK, sgLanes);
  const blocked = sgLanes > 0 && tm > block;
  const byBlock = (lines: (keep: (r: number) => boolean) => string[]): string[] => {
    if (!blocked) return lines(() => true);
    return [...Array(tm / block).keys()].flatMap((b) => {
      const body = lines((r) => Math.floor(r / block) === b);
      if (b === 0) return body;
      return [`    if (m0 + ${b * block}u < p.M) {`, ...body.map((l) => `  ${l}`), '    }'];
    });
  };
  // Loads j whose rows (j * per .. j * per + per - 1) lie in the block `keep` selects.
  const loadsIn = (keep: (r: number) => boolean, per: number): number[] => loads.filter((j) => keep(j * per));
  // One k step: kk = aK(k), b = B[k, c0..c0+3], then every row's multiply-add.
  const fma = sgLanes
    ? byBlock((keep) => [
        ...loadsIn(keep, sgLanes).map((j) => `    let a${j} = loadA(row${j}, kk);`),
        ...rows
          .filter(keep)
          .map((r) => `    acc${r}_0 += subgroupBroadcast(a${Math.floor(r / sgLanes)}, ${r % sgLanes}u) * b;`),
      ])
    : rows.map((r) => `    acc${r}_0 += loadA(row${r}, kk) * b;`);
  const step = (k: string, kk: string) => [`    let kk = ${kk};`, `    let b = loadB4(${k}, c0);`, ...fma].join('\n');
  // With loadA4 (A[m, k..k+3] as one vec4): one load per row and 4 k, broadcast as a vec4.
  const step4 = [
    '    let kk = aK(k);',
    ...groups.map((g) => `    let bm${g} = loadB4x4(k, ${col(g)});`),
    ...byBlock((keep) => [
      ...loadsIn(keep, sgLanes).map((j) => `    let a${j} = loadA4(row${j}, kk);`),
      ...rows.filter(keep).map((r) => {
        const fmas = groups.map(
          (g) => `acc${r}_${g} += av.x * bm${g}[0] + av.y * bm${g}[1] + av.z * bm${g}[2] + av.w * bm${g}[3];`,
        );
        return `    { let av = subgroupBroadcast(a${Math.floor(r / sgLanes)}, ${r % sgLanes}u); ${fmas.join(' ')} }`;
      }),
    ]),
  ].join('\n');
  // The index decomposition of a k step of 1: carried from the previous k (aKNext) or computed.
  const kOne = kNext ? 'kc' : 'aK(k)';
  const oneLoop = (body: string, unroll = false): string[] =>
    kNext
      ? [
          '  var kc = aK(kBeg);',
          '  var k = kBeg;',
          ...(unroll
            ? [
                '  for (; k + 3u < kEnd; k += 4u) {',
                ...[0, 1, 2, 3].map((j) => `   {\n    let k = k + ${j}u;\n${body}\n    kc = aKNext(kc);\n   }`),
                '  }',
              ]
            : []),
          '  for (; k < kEnd; k++) {',
          body,
          '    kc = aKNext(kc);',
          '  }',
        ]
      : ['  for (var k = kBeg; k < kEnd; k++) {', body, '  }'];
  // With loadA4rows (A[m..m+3, k] as one vec4): lane l's vec4 of round j holds rows 4(jL + l) + 0..3.
  // A round spans 4L rows (more than a block): the loads stay outside the blocks.
  const stepRows = [
    `    let kk = ${kOne};`,
    ...groups.map((g) => `    let b${g} = loadB4(k, ${col(g)});`),
    ...loads.map((j) => `    let a${j} = loadA4rows(row${j}, kk);`),
    ...byBlock((keep) =>
      rows
        .filter((r) => r % 4 === 0 && keep(r))
        .map((r) => {
          const [j, l] = [Math.floor(r / (4 * L)), (r / 4) % L];
          const fmas = [0, 1, 2, 3].flatMap((c) => groups.map((g) => `acc${r + c}_${g} += av.${'xyzw'[c]} * b${g};`));
          return `    { let av = subgroupBroadcast(a${j}, ${l}u); ${fmas.join(' ')} }`;
        }),
    ),
  ].join('\n');
  const loop = a4
    ? ['  for (var k = kBeg; k < kEnd; k += 4u) {', step4, '  }']
    : rows4
      ? oneLoop(stepRows, unrollNext)
      : k4
        ? [
            '  for (var k = kBeg; k < kEnd; k += 4u) {',
            '    let kk0 = aK(k);',
            ...[0, 1, 2, 3].map((j) => `   {\n${step(j ? `k + ${j}u` : 'k', j ? `aKStep(kk0, ${j}u)` : 'kk0')}\n   }`),
            '  }',
          ]
        : oneLoop(step('k', kOne));
  // Invocations whose rows all lie past M leave, whole subgroups together (hence the diagnostic).
  const exit = blocked ? '  if (m0 >= p.M) { return; }\n' : '';
  return fillTemplate(regtileSrc, {
    ENABLE: sgLanes ? `enable subgroups;${blocked ? '\ndiagnostic(off, subgroup_uniformity);' : ''}` : '',
    SG_ARG: sgLanes ? ', @builtin(subgroup_invocation_id) lane: u32' : '',
    TM: tm,
    LOADERS: '{{LOADERS}}',
    ROWS_DECL: `${exit}  let c0 = n0 * ${cols / 4}u;\n` + decl.join('\n') + '\n' + acc,
    K_LOOP: loop.join('\n'),
    ROWS_STORE: store,
  });
}

/** The body of loadB4 from four single-column loadB reads (the fallback for B not bound as vec4s). */
export const SCALAR_B4 = 'return vec4<f32>(loadB(k, n), loadB(k, n + 1u), loadB(k, n + 2u), loadB(k, n + 3u));';

/**
 * Template values for B stored as a row-major [K, N] matrix in binding `name`, bound as vec4s when
 * N % 4 == 0 (bench/LAB.md #11): `{{B_TYPE}}`, `{{B_AT}}` (element `i`), `{{B4}}` (loadB4's body) or
 * bAt, loadB and loadB4 whole as `{{B_LOADERS}}`. `row`: the stored row GEMM row k reads.
 */
export function rowMajorB(
  name: string,
  N: number,
  row = 'k',
): { B_TYPE: string; B_AT: string; B4: string; B_LOADERS: string } {
  const b =
    N % 4 === 0
      ? {
          B_TYPE: 'vec4<f32>',
          B_AT: `${name}[i / 4u][i % 4u]`,
          B4: `if (n >= p.N) { return vec4<f32>(); }\n  return ${name}[((${row}) * p.N + n) / 4u];`,
        }
      : { B_TYPE: 'f32', B_AT: `${name}[i]`, B4: SCALAR_B4 };
  const at = row === 'k' ? 'k' : `(${row})`;
  return {
    ...b,
    B_LOADERS:
      `fn bAt(i: u32) -> f32 { return ${b.B_AT}; }\nfn loadB(k: u32, n: u32) -> f32 {\n  if (n >= p.N) ` +
      `{ return 0.0; }\n  return bAt(${at} * p.N + n);\n}\nfn loadB4(k: u32, n: u32) -> vec4<f32> {\n  ${b.B4}\n}`,
  };
}

/**
 * Template values for A in binding `name`: `{{A_AT}}` (element `i`) and `{{A4_AT}}` (elements i..i+3),
 * bound as vec4s when `vec` (the op guarantees i % 4 == 0 for the four-element reads).
 */
export function vec4A(name: string, vec: boolean): { A_TYPE: string; A_AT: string; A4_AT: string } {
  return vec
    ? { A_TYPE: 'vec4<f32>', A_AT: `${name}[i / 4u][i % 4u]`, A4_AT: `${name}[i / 4u]` }
    : {
        A_TYPE: 'f32',
        A_AT: `${name}[i]`,
        A4_AT: `vec4<f32>(${name}[i], ${name}[i + 1u], ${name}[i + 2u], ${name}[i + 3u])`,
      };
}

const SCALAR_LOADB4 = `\nfn loadB4(k: u32, n: u32) -> vec4<f32> { ${SCALAR_B4} }\n`;
// B[k..k+3, n..n+3] as a matrix whose column i is row k + i (what the vec4-A k step multiplies by).
const ROWS_LOADB4X4 =
  '\nfn loadB4x4(k: u32, n: u32) -> mat4x4<f32> { return mat4x4<f32>(loadB4(k, n), loadB4(k + 1u, n), ' +
  'loadB4(k + 2u, n), loadB4(k + 3u, n)); }\n';

/** The loader functions that each flag of a call promises. */
const FLAG_FNS = { kStep4: 'aKStep', vecA: 'loadA4', rowsA4: 'loadA4rows', kNext: 'aKNext' } as const;
/** The WGSL functions that `loaders` define (memoised). */
const loaderFns = memo((loaders: string) => new Set(Array.from(loaders.matchAll(/\bfn\s+(\w+)\s*\(/g), (m) => m[1])));

/**
 * The loader contract, checked against core `v` reading A as `reads` says: the loaders (which declare
 * `struct Params` with M, N, K, kPerSplit and the call's params, and the bindings) define
 * - every core: rowKey = aRow(m), kKey = aK(k), A[m, k] = loadA(rowKey, kKey), storeC(m, n, z, v)
 *   (split z's C[m, n]);
 * - B[k, n] = loadB(k, n) (0 past N); loadB4(k, n) = B[k, n..n+3] and loadB4x4(k, n) = B[k..k+3, n..n+3]
 *   are generic when absent;
 * - per flag: aKStep(aK(k), j) = aK(k + j) (kStep4); loadA4(row, aK(k)) = A[m, k..k+3] (vecA);
 *   loadA4rows(row, aK(k)) = A[m..m+3, k] (rowsA4); aKNext(aK(k)) = aK(k + 1) (kNext).
 * Throws naming the first function missing.
 */
function checkLoaders(
  call: Pick<GemmCall, 'label' | 'loaders' | keyof typeof FLAG_FNS>,
  v: GemmVariant,
  reads: { k4: boolean; a4: boolean; rows4: boolean; kNext: boolean },
): void {
  const fns = loaderFns(call.loaders);
  const { k4, a4, rows4, kNext } = reads;
  // Checked on every launch: the messages are built only for a missing function.
  const core = (): string => {
    const used = Object.keys(reads).filter((r) => reads[r as keyof typeof reads]);
    return `the ${v} core${used.length ? ` with ${used.join(', ')}` : ''} needs`;
  };
  const calls = ['aRow', 'aK', 'loadA', 'storeC', !fns.has('loadB4') && 'loadB']
    .concat(k4 && !a4 && 'aKStep', a4 && 'loadA4', rows4 && 'loadA4rows', kNext && 'aKNext')
    .map((f): [string | false | undefined, () => string] => [f, core]);
  const flags = Object.entries(FLAG_FNS).map(([flag, f]): [string | false | undefined, () => string] => [
    call[flag as keyof typeof FLAG_FNS] && f,
    () => `${flag} promises`,
  ]);
  const missing = [...calls, ...flags].find(([f]) => f && !fns.has(f));
  if (missing)
    throw new Error(
      `ossify: gemm '${call.label}': ${missing[1]()} ${missing[0]}, which the loaders do not define (they define ` +
        `${[...fns].join(', ') || 'no function'})`,
    );
}

/**
 * The loaders completed for the cores (memoised): the run-time epilogue as their row map where their Params
 * have `epiMode`, else the identity; the generic `loadB4` / `loadB4x4` where they define none.
 */
export const completeLoaders = memo((loaders: string) => {
  const fns = loaderFns(loaders);
  const epilogue = paramsOf(loaders).has('epiMode');
  const missing = (f: string, wgsl: string): string => (fns.has(f) ? '' : wgsl);
  return (
    loaders +
    (epilogue ? `\n${EPILOGUE_FN}\n${EPILOGUE_ROW_MAP}` : '') +
    missing('loadB4', SCALAR_LOADB4) +
    missing('loadB4x4', ROWS_LOADB4X4) +
    (epilogue ? '' : IDENTITY_ROW_MAP)
  );
});

/**
 * The core a GEMM of this shape runs on this adapter (forced, tuned or default; the subgroup forms fall
 * back to 'regtile' where they cannot run) and its subgroup lanes sharing A's rows (0: plain form).
 */
export function resolveGemmVariant(call: GemmShape): { variant: GemmVariant; sgLanes: number } {
  const sg = subgroupLanes(8, 16);
  // 8 columns per invocation pay with 4-lane subgroups unless over a quarter would idle (bench/LAB.md #29).
  const eight = sg === 4 && vectorA(call, 'subgroup8') && idleColumns('subgroup8', call.M, call.N) <= 0.25;
  let chosen = variant<GemmVariant>(
    'gemm',
    { cpu: eight ? 'subgroup8' : sg ? 'subgroup' : 'regtile', gpu: 'shared' },
    `${call.label}:${call.M}x${call.N}x${call.K}`,
  );
  if (chosen === 'subgroup8' && !vectorA(call, 'subgroup8')) chosen = 'subgroup';
  const reg = regShape(chosen, call.M, call.N);
  const sgLanes = FORMS[chosen].subgroup ? subgroupLanes(reg.tm, reg.wgX) : 0;
  if (FORMS[chosen].subgroup && sgLanes === 0) return { variant: 'regtile', sgLanes: 0 };
  return { variant: chosen, sgLanes };
}

/** The fraction of launched columns past N (idle lanes) with this register-tiled variant. */
function idleColumns(v: GemmVariant, M: number, N: number): number {
  const launched = tiles(v, M, N)[0] * FORMS[v].cols * regShape(v, M, N).wgX;
  return (launched - N) / launched;
}

/** What {@link resolveGemmVariant} looks at: the shape and how the loaders can read A. */
export type GemmShape = Pick<GemmCall, 'label' | 'M' | 'N' | 'K' | 'kStep4' | 'vecA' | 'rowsA4'>;

/** Whether the subgroup core can read A four k at a time for this call (loaders with loadA4, K % 4 == 0). */
const vec4AStep = (call: GemmShape): boolean => !!call.kStep4 && !!call.vecA && call.K % 4 === 0;
/** Whether it can read A four rows at a time with variant v (loadA4rows, and at least four rows per invocation). */
const rows4Read = (call: GemmShape, v: GemmVariant): boolean =>
  !!call.rowsA4 && call.M % 4 === 0 && regShape(v, call.M, call.N).tm >= 4;
/** Whether the subgroup core reads A as vec4s (either way): what 8 columns per invocation need. */
const vectorA = (call: GemmShape, v: GemmVariant): boolean => vec4AStep(call) || rows4Read(call, v);

/** Run a GEMM and return C. */
export function gemm(call: GemmCall): Tensor {
  const rt = runtime();
  const { M, N, K } = call;
  const { variant: v, sgLanes } = resolveGemmVariant(call);
  const reg = regShape(v, M, N);
  const batches = call.batches ?? 0;
  if (batches && (K % batches !== 0 || call.epilogue || call.into))
    throw new Error(`ossify: internal error: ${call.label}: K = ${K} in ${batches} batches, with no epilogue or into`);
  const params = paramsOf(call.loaders);
  const slot = params.has('epiMode');
  if (call.epilogue && !slot) throw new Error(`ossify: internal error: ${call.label}: its loaders take no epilogue`);
  const splits = batches || (call.splits ?? chooseSplits(v, M, N, K));
  // A multiple of 16 (k4 steps never straddle splits), or exactly one batch.
  const kPerSplit = batches ? K / batches : Math.ceil(K / splits / 16) * 16;
  const nsplit = Math.max(1, Math.ceil(K / kPerSplit));
  // The epilogue rides on the store unless partial sums (split-k) are stored.
  const fused = call.epilogue && nsplit === 1 ? call.epilogue : null;
  const loaders = completeLoaders(call.loaders);
  // k steps of 4 only in the subgroup form (SwiftShader took minutes to compile the plain form's).
  const k4 = !!call.kStep4 && K % 4 === 0 && kPerSplit % 4 === 0 && sgLanes > 0;
  const a4 = sgLanes > 0 && vec4AStep(call);
  const rows4 = sgLanes > 0 && !a4 && rows4Read(call, v);
  // Carried-k four-row loops are unrolled by 4 with 4-lane subgroups only (bench/LAB.md #34).
  const kNext = v !== 'shared' && !!call.kNext && !a4 && (rows4 || !k4);
  checkLoaders(call, v, { k4, a4, rows4, kNext });
  const core =
    v === 'shared'
      ? sharedSrc
      : regtileCore(reg.tm, {
          sgLanes,
          k4,
          a4,
          rows4,
          cols: FORMS[v].cols,
          kNext,
          unrollNext: sgLanes > 0 && rt.info.subgroupSize?.min === 4,
        });
  const code = fillTemplate(core, { LOADERS: loaders });
  const k = rt.kernel(`${call.label}:${v}`, code, {
    ...(call.constants ?? {}),
    ...(v === 'shared' ? {} : { WG_X: reg.wgX, WG_Y: reg.wgY }),
  });
  const into = call.into;
  if (into && !params.has('ldc'))
    throw new Error(`ossify: internal error: ${call.label}'s loaders cannot store into a wider tensor`);
  // Split-k partial sums stay dense; only the finished C goes into the wider tensor.
  const direct = nsplit === 1 && into;
  const out = direct ? into.tensor : Tensor.empty(nsplit > 1 ? [nsplit, M * N] : call.outShape);
  const strided: Record<string, number> = params.has('ldc')
    ? { ldc: direct ? into.ldc : N, cOff: direct ? into.offset : 0 }
    : {};
  const [x, y] = tiles(v, M, N);
  rt.dispatch(
    k,
    // Without an epilogue the table binding aliases an input (read-only bindings may; it is unread).
    { ...call.inputs, c: out.storage, ...(slot ? { epi: fused?.table ?? Object.values(call.inputs)[0] } : {}) },
    { ...call.params, ...strided, ...(slot ? { epiMode: epilogueMode(fused) } : {}), M, N, K, kPerSplit },
    [x, y, nsplit],
  );
  if (nsplit === 1 || batches) return out;
  // Add the partial products (and apply the epilogue) in one pass.
  const res = into ? into.tensor : Tensor.empty(call.outShape);
  const total = M * N;
  const epi = call.epilogue;
  // One pipeline whether or not there is an epilogue (the uniform epiMode) or a wider target (ldc, cOff).
  const sk = rt.kernel('gemm-splits', SPLITS);
  rt.dispatch(
    sk,
    { part: out.storage, c: res.storage, epi: epi?.table ?? out.storage },
    { M, N, total, splits: nsplit, ldc: into?.ldc ?? N, cOff: into?.offset ?? 0, epiMode: epilogueMode(epi) },
    rt.grid(total, 256),
  );
  out.dispose();
  return res;
}
