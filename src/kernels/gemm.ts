/**
 * The GEMM engine behind matmul and every convolution: a tiled core (two variants, one source each)
 * plus op-specific loaders that say how to read A and B and where to write C. Split-k runs long
 * reductions (the weight gradient of a convolution sums over N*H*W) across more workgroups.
 */
import { runtime, type BufferLike } from '../gpu/runtime.js';
import { fillTemplate } from '../gpu/wgsl.js';
import { Tensor, type Shape } from '../tensor.js';
import { sum } from './reduce.js';
import { variant } from './variants.js';
import regtileSrc from '../../shaders/gemm_regtile.wgsl';
import sharedSrc from '../../shaders/gemm_shared.wgsl';

/**
 * GEMM core variants: 'shared' (workgroup-memory tiles, the GPU default), 'regtile' (8 rows x vec4 per
 * invocation, no barriers, the CPU-adapter default) and 'regtile4' (4 rows: more workgroups for
 * small M). The kernel lab (bench/lab) measures them; `autotune` picks per shape.
 */
export type GemmVariant = 'regtile' | 'regtile4' | 'shared';
export const GEMM_VARIANTS: readonly GemmVariant[] = ['shared', 'regtile', 'regtile4'];

/** Rows per invocation in the register-tiled variants (8 x vec4 was fastest on SwiftShader). */
const rowsOf = (v: GemmVariant): number => (v === 'regtile4' ? 4 : 8);
/** Invocations per workgroup in the register-tiled variant (64 or 128 did best on SwiftShader). */
const REG_INVOCATIONS = 64;

/**
 * The register-tiled workgroup shape for an N-column output: just enough invocations across columns
 * (each covers 4) that narrow outputs (Cout 1 or 16 in BAM, 32 in a stem) do not waste most lanes.
 */
function regShape(N: number): { wgX: number; wgY: number } {
  const wgX = Math.min(16, 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(N / 4)))));
  return { wgX, wgY: REG_INVOCATIONS / wgX };
}

/** Workgroups (x, y) that one split of an M x N GEMM needs with this variant. */
function tiles(v: GemmVariant, M: number, N: number): [number, number] {
  if (v === 'shared') return [Math.ceil(N / 64), Math.ceil(M / 64)];
  const { wgX, wgY } = regShape(N);
  return [Math.ceil(N / (4 * wgX)), Math.ceil(M / (rowsOf(v) * wgY))];
}

/** How many k-splits: enough workgroups to fill the device, each split at least 256 deep. */
function chooseSplits(v: GemmVariant, M: number, N: number, K: number): number {
  const [x, y] = tiles(v, M, N);
  const target = runtime().info.isCpu ? 16 : 264; // ~2 waves of an H100's 132 SMs
  if (x * y >= target || K < 1024) return 1;
  return Math.max(1, Math.min(Math.ceil(target / (x * y)), Math.floor(K / 256), 64));
}

export interface GemmCall {
  label: string;
  /** WGSL of the loaders (Params, bindings, aRow, aK, loadA, loadB, storeC). */
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
}

/**
 * The register-tiled core for `tm` rows per invocation, with the per-row statements unrolled into
 * separate variables (`{{LOADERS}}` left to fill). Shared with the kernel lab.
 */
export function regtileCore(tm: number): string {
  const rows = [...Array(tm).keys()];
  return fillTemplate(regtileSrc, {
    TM: tm,
    LOADERS: '{{LOADERS}}',
    ROWS_DECL: rows.map((r) => `  let row${r} = aRow(m0 + ${r}u);\n  var acc${r} = vec4<f32>();`).join('\n'),
    ROWS_FMA: rows.map((r) => `    acc${r} += loadA(row${r}, kk) * b;`).join('\n'),
    ROWS_STORE: rows.map((r) => `  storeRow(m0 + ${r}u, n0, wid.z, acc${r});`).join('\n'),
  });
}

/** The shape key under which tuned variant choices are stored: label and M x N x K. */
export function gemmShapeKey(call: Pick<GemmCall, 'label' | 'M' | 'N' | 'K'>): string {
  return `${call.label}:${call.M}x${call.N}x${call.K}`;
}

const SCALAR_LOADB4 = '\nfn loadB4(k: u32, n: u32) -> vec4<f32> { return vec4<f32>(loadB(k, n), loadB(k, n + 1u), loadB(k, n + 2u), loadB(k, n + 3u)); }\n';
const withLoadB4 = new Map<string, string>();
/** Loaders without their own vectorised `loadB4` get the scalar one (memoised: same string, cached pipeline). */
function completeLoaders(loaders: string): string {
  let s = withLoadB4.get(loaders);
  if (s === undefined) withLoadB4.set(loaders, (s = loaders.includes('fn loadB4') ? loaders : loaders + SCALAR_LOADB4));
  return s;
}

/** Run a GEMM and return C. */
export function gemm(call: GemmCall): Tensor {
  const rt = runtime();
  const v = variant<GemmVariant>('gemm', { cpu: 'regtile', gpu: 'shared' }, gemmShapeKey(call));
  const splits = call.splits ?? chooseSplits(v, call.M, call.N, call.K);
  const kPerSplit = Math.ceil(call.K / splits / 16) * 16;
  const nsplit = Math.max(1, Math.ceil(call.K / kPerSplit));
  const loaders = completeLoaders(call.loaders);
  const code = v === 'shared' ? fillTemplate(sharedSrc, { LOADERS: loaders }) : fillTemplate(regtileCore(rowsOf(v)), { LOADERS: loaders });
  const reg = regShape(call.N);
  const k = rt.kernel(`${call.label}:${v}`, code, { ...(call.constants ?? {}), ...(v === 'shared' ? {} : { WG_X: reg.wgX, WG_Y: reg.wgY }) });
  const out = Tensor.empty(nsplit > 1 ? [nsplit, call.M * call.N] : call.outShape);
  const [x, y] = tiles(v, call.M, call.N);
  rt.dispatch(k, { ...call.inputs, c: out.storage }, { ...call.params, M: call.M, N: call.N, K: call.K, kPerSplit }, [x, y, nsplit]);
  if (nsplit === 1) return out;
  const summed = sum(out, 0);
  out.dispose();
  const res = summed.alias(call.outShape);
  summed.dispose();
  return res;
}
