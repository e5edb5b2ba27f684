/**
 * Matrix multiply (and the dense layer's math): C = op(A) op(B) with optional transposes, on the GEMM
 * engine. Backward: dA = g op(B)^T, dB = op(A)^T g, each again a matmul with transposes.
 */
import { Tensor, defineOp, numel, shapeStr, type Shape } from '../tensor.js';
import { checkBoolean, checkOptionalNumber } from '../validate.js';
import { record } from '../autograd.js';
import { gemm, memo, rowMajorB, vec4A, SCALAR_B4, type GemmEpilogue, type GemmTarget } from './gemm.js';
import type { BufferLike } from '../gpu/runtime.js';
import { fillTemplate, reluWgsl } from '../gpu/wgsl.js';
import loaderSrc from '../../shaders/gemm_matmul.wgsl';
import commonSrc from '../../shaders/conv2d_common.wgsl';
import { broadcastShapes, broadcastTo } from './elementwise.js';
import { sumTo } from './sum-raw.js';

/**
 * The matmul loaders (memoised: a launch asks for them on every dispatch); `vecB` binds B as vec4s (B not transposed,
 * N % 4 == 0), `vecA` binds A as vec4s (A not transposed with K % 4 == 0, or transposed with M % 4 == 0), `vecBT` B
 * transposed with K % 4 == 0; `prologue` maps A's columns as read (PRO_KEY); `epilogueSlot` declares `epiMode`.
 */
export const matmulLoaders = memo(
  (
    vecB: boolean,
    vecA: boolean = false,
    vecBT: boolean = false,
    prologue: 'none' | 'f32' | 'vec4' = 'none',
    epilogueSlot: boolean = false,
  ) => {
    const b = vecBT
      ? { B_TYPE: 'vec4<f32>', B_AT: 'b[i / 4u][i % 4u]', B4: SCALAR_B4, B4X4: TRANSPOSED_B4X4 }
      : { ...rowMajorB('b', vecB ? 4 : 1), B4X4: '' };
    return fillTemplate(loaderSrc, {
      ...vec4A('a', vecA),
      B_TYPE: b.B_TYPE,
      B_LOADERS: matmulB(b.B_AT, b.B4, b.B4X4),
      A_KEY: A_KEYS[prologue],
      PARAMS: epilogueSlot ? ', epiMode: u32' : '',
    });
  },
);

/** The B loaders of a matmul: B[k, n], or B[n, k] when TB. */
const matmulB = (at: string, b4: string, b4x4: string): string => `fn bAt(i: u32) -> f32 { return ${at}; }
fn loadB(k: u32, n: u32) -> f32 {
  if (n >= p.N) { return 0.0; }
  if (TB == 1u) { return bAt(n * p.K + k); }
  return bAt(k * p.N + n);
}
fn loadB4(k: u32, n: u32) -> vec4<f32> {
  ${b4}
}
${b4x4}`;

/**
 * The k keys of the matmul loaders. Plain: k itself. With a prologue, a[m, k] is read as act(a[m, k] * pro[k] +
 * pro[K + k]), act = ReLU when PRO_RELU (DenseNet's pre-activation BN -> ReLU -> 1x1 conv): the key carries k's
 * coefficients, loaded once per k step rather than per row. The table is bound as vec4s when K % 4 == 0 (s and t
 * are then pro[k - k % 4 .. +3], lane r = k % 4 is k's own).
 */
const PRO_KEY = `override PRO_RELU: bool = false;
struct AKey { k: u32, r: u32, s: vec4<f32>, t: vec4<f32> }
fn kOf(kk: AKey) -> u32 { return kk.k; }
fn aKStep(kk: AKey, j: u32) -> AKey { return aK(kk.k + j); }
fn aKNext(kk: AKey) -> AKey { return aK(kk.k + 1u); }
fn proA(kk: AKey, v: f32) -> f32 {
  let y = v * kk.s[kk.r] + kk.t[kk.r];
  return select(y, ${reluWgsl('y', '0.0')}, PRO_RELU);
}
fn proA4(kk: AKey, v: vec4<f32>) -> vec4<f32> {
  let y = v * kk.s + kk.t;
  return select(y, ${reluWgsl('y', 'vec4<f32>()')}, PRO_RELU);
}`;
// A u32 key, after its aK.
const PLAIN_KEY = `fn kOf(kk: AKey) -> u32 { return kk; }
fn aKStep(kk: AKey, j: u32) -> AKey { return kk + j; }
fn aKNext(kk: AKey) -> AKey { return kk + 1u; }
fn proA(kk: AKey, v: f32) -> f32 { return v; }
fn proA4(kk: AKey, v: vec4<f32>) -> vec4<f32> { return v; }`;
const A_KEYS = {
  none: `alias AKey = u32;
fn aK(k: u32) -> AKey { return k; }
${PLAIN_KEY}`,
  f32: `@group(0) @binding(14) var<storage, read> pro: array<f32>; // [scale(K), shift(K)]
fn aK(k: u32) -> AKey { return AKey(k, 0u, vec4<f32>(pro[k]), vec4<f32>(pro[p.K + k])); }
${PRO_KEY}`,
  vec4: `@group(0) @binding(14) var<storage, read> pro: array<vec4<f32>>; // [scale(K), shift(K)], K % 4 == 0
fn aK(k: u32) -> AKey { let q = k / 4u; return AKey(k, k % 4u, pro[q], pro[p.K / 4u + q]); }
${PRO_KEY}`,
};

/** B transposed ([N, K], K % 4 == 0, vec4s): four columns' vec4s along k, transposed in registers. */
const TRANSPOSED_B4X4 = `fn loadB4x4(k: u32, n: u32) -> mat4x4<f32> {
  let last = p.N - 1u;
  let c0 = b[(min(n, last) * p.K + k) / 4u];
  let c1 = b[(min(n + 1u, last) * p.K + k) / 4u];
  let c2 = b[(min(n + 2u, last) * p.K + k) / 4u];
  let c3 = b[(min(n + 3u, last) * p.K + k) / 4u];
  return transpose(mat4x4<f32>(c0, c1, c2, c3)); // columns c_j = B[k..k+3, n + j] -> rows
}`;

/** Options for {@link matmul}. */
export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  /** Force a split-k count (tests and the lab): an integer in [1, 65535]. */
  splits?: number;
}

/** The split-k count an op was given (undefined: chosen from the shape), checked. */
export function checkSplits(splits: unknown, op: string): number | undefined {
  return checkOptionalNumber(splits, `${op} option splits`, { integer: true, min: 1, max: 65535 });
}

/** What only the inference-only fused op (src/kernels/fused.ts) adds to a GEMM launch. */
export interface FusedParts {
  epilogue?: GemmEpilogue;
  into?: GemmTarget;
  prologue?: { table: BufferLike; relu: boolean };
  /** A is columns [offset, offset + K) of rows `lda` long. */
  from?: { lda: number; offset: number };
}

/** [M, K, N] of op(A) op(B) over the last two axes of a and b (A's K given with `aK`), checked to agree. */
function matmulDims(a: Shape, b: Shape, ta: boolean, tb: boolean, aK?: number): [number, number, number] {
  const [[aRows, aCols], [bRows, bCols]] = [a.slice(-2), b.slice(-2)];
  const [M, Ka] = ta ? [aCols, aRows] : [aRows, aK ?? aCols];
  const [Kb, N] = tb ? [bCols, bRows] : [bRows, bCols];
  if (Ka !== Kb)
    throw new Error(
      `ossify: matmul shapes do not agree: ${shapeStr(a)}${ta ? 'ᵀ' : ''} x ${shapeStr(b)}${tb ? 'ᵀ' : ''} ` +
        `(inner dimensions ${Ka} vs ${Kb})`,
    );
  return [M, Ka, N];
}

/** One GEMM launch of the 2-D C = op(A) op(B) (rank 2 as the callers reshape it), with the fused op's extra parts. */
export function matmulLaunch(
  a: Tensor,
  b: Tensor,
  ta: boolean,
  tb: boolean,
  splits?: number,
  fused: FusedParts = {},
): Tensor {
  const dims = matmulDims(a.shape, b.shape, ta, tb, fused.from ? b.shape[0] : undefined);
  return matmulGemm(a, b, ta, tb, dims, 0, splits, fused);
}

/**
 * The GEMM of op(A) op(B), [M, Ka, N] = `dims`: one product, or (`batches` > 0) that many stacked [M, Ka]
 * x [Ka, N] products, each its own split (bound whole: [batches, M, N]). Operands are read as vec4s where
 * their rows allow; the label names the transposes (for profiles, and tuned choices keyed by label and shape).
 */
function matmulGemm(
  a: Tensor,
  b: Tensor,
  ta: boolean,
  tb: boolean,
  [M, Ka, N]: [number, number, number],
  batches: number,
  splits?: number,
  fused: FusedParts = {},
): Tensor {
  const lda = fused.from?.lda ?? Ka;
  const aOff = fused.from?.offset ?? 0;
  const vecB = !tb && N % 4 === 0;
  // B transposed with K % 4 == 0: loaded four k at a time along its rows (loadB4x4; not batched).
  const vecBT = !batches && tb && Ka % 4 === 0;
  const vecA = (vecB || vecBT) && !ta && Ka % 4 === 0 && lda % 4 === 0 && aOff % 4 === 0;
  // A transposed ([K, M] in memory) with M % 4 == 0: four rows of op(A) at one k are one vec4.
  const rowsA4 = ta && M % 4 === 0;
  const pro = fused.prologue;
  const transposes = `${ta ? '_at' : ''}${tb ? '_bt' : ''}`;
  return gemm({
    label: batches
      ? `bmm${transposes}`
      : `matmul${transposes}${pro ? (pro.relu ? '+pre-affine+relu' : '+pre-affine') : ''}`,
    // The untransposed 2-D layout (forward passes) carries the run-time epilogue; gradients never take one.
    loaders: batches
      ? batchedLoaders(vecA || rowsA4, tb, N % 4 === 0)
      : matmulLoaders(vecB, vecA || rowsA4, vecBT, pro ? (Ka % 4 === 0 ? 'vec4' : 'f32') : 'none', !ta && !tb),
    kStep4: (vecB || (vecBT && vecA)) && Ka % 4 === 0,
    vecA,
    rowsA4,
    kNext: rowsA4,
    M,
    N,
    K: (batches || 1) * Ka,
    batches,
    inputs: { a: a.storage, b: b.storage, ...(pro ? { pro: pro.table } : {}) },
    params: { ...(batches ? { Kb: Ka } : {}), lda, aOff },
    constants: { TA: ta ? 1 : 0, TB: tb ? 1 : 0, ...(pro ? { PRO_RELU: pro.relu ? 1 : 0 } : {}) },
    outShape: batches ? [batches, M, N] : [M, N],
    splits,
    epilogue: fused.epilogue,
    into: fused.into,
  });
}

/**
 * The batched matmul's k key: k = z * Kb + kk runs over every batch's inner dimension, and op(A)[z, m,
 * kk] is a[kOf + m * Kb] (a[k * M + m] when A is transposed).
 */
const BMM_KEY = `alias AKey = u32;
fn aK(k: u32) -> AKey {
  if (TA == 1u) { return k; }
  let q = divmod(k, p.Kb, p.invKb);
  return q.x * p.M * p.Kb + q.y;
}
${PLAIN_KEY}`;
/** B transposed in a batched matmul: B[z, n, kk] = b[(z * N + n) * Kb + kk], z and kk from k. */
const BMM_TRANSPOSED_B = `fn loadB(k: u32, n: u32) -> f32 {
  if (n >= p.N) { return 0.0; }
  let q = divmod(k, p.Kb, p.invKb);
  return b[(q.x * p.N + n) * p.Kb + q.y];
}`;
/** The batched matmul's loaders (memoised): A as vec4s when `vecA`, B rows as vec4s when `vecB` (untransposed). */
const batchedLoaders = memo((vecA: boolean, tb: boolean, vecB: boolean) =>
  fillTemplate(`${loaderSrc}\n${commonSrc}`, {
    ...vec4A('a', vecA),
    ...(tb ? { B_TYPE: 'f32', B_LOADERS: BMM_TRANSPOSED_B } : rowMajorB('b', vecB ? 4 : 1)),
    A_KEY: BMM_KEY,
    PARAMS: ', Kb: u32, invKb: f32',
  }),
);

/**
 * The batched matmul op(A) op(B) of tensors [..., rows, cols] whose batch axes (all but the last two)
 * broadcast as NumPy's matmul: [...batch, M, N]. Unrecorded. When B has no batch of its own and A is
 * not transposed, A's batch folds into its rows (one plain GEMM); otherwise the operands are broadcast
 * to the full batch (a copy only where a batch axis is broadcast) and multiplied in one GEMM launch,
 * each batch one split.
 */
function batchedMatmul(a: Tensor, b: Tensor, ta: boolean, tb: boolean): Tensor {
  if (a.rank < 2 || b.rank < 2)
    throw new Error(`ossify: matmul takes tensors of rank >= 2, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const dims = matmulDims(a.shape, b.shape, ta, tb);
  const [M, Ka, N] = dims;
  const [bRows, bCols] = b.shape.slice(-2);
  let batch: number[];
  try {
    batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new Error(`ossify: matmul batch axes of ${shapeStr(a.shape)} and ${shapeStr(b.shape)} do not broadcast`);
  }
  const batches = numel(batch);
  const fold = b.size === bRows * bCols && !ta;
  if (!fold && batches * Ka >= 2 ** 24)
    throw new Error(`ossify: batched matmul needs batches * K < 2^24, got ${batches} x ${Ka} (split the batch)`);
  const full = (t: Tensor): Tensor => {
    const want = fold ? [t.size / t.shape[t.rank - 1], t.shape[t.rank - 1]] : [...batch, ...t.shape.slice(-2)];
    return numel(want) === t.size ? t.alias(want) : broadcastTo(t, want);
  };
  const [af, bf] = [full(a), full(b)];
  const out = fold ? matmulLaunch(af, bf, false, tb) : matmulGemm(af, bf, ta, tb, dims, batches);
  af.dispose();
  bf.dispose();
  const res = out.alias([...batch, M, N]);
  out.dispose();
  return res;
}

/**
 * C = op(A) op(B). Tensors of rank > 2 are stacks of matrices whose batch axes broadcast as in NumPy's
 * matmul (e.g. [2, 1, 5, 3] x [4, 3, 7] -> [2, 4, 5, 7]). Differentiable.
 */
export const matmul = defineOp('matmul', ['a', 'b'], (a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor => {
  const ta = checkBoolean(opts.transA, 'matmul option transA', false);
  const tb = checkBoolean(opts.transB, 'matmul option transB', false);
  const batched = a.rank !== 2 || b.rank !== 2;
  if (batched && opts.splits !== undefined)
    throw new Error('ossify: matmul option splits applies to 2-D operands only');
  const out = batched ? batchedMatmul(a, b, ta, tb) : matmulLaunch(a, b, ta, tb, checkSplits(opts.splits, 'matmul'));
  // Batched, sumTo folds the gradient of a broadcast operand.
  const mm = batched ? batchedMatmul : matmulLaunch;
  const fold = (t: Tensor, shape: Shape): Tensor => (batched ? sumTo(t, shape) : t);
  return record('matmul', [a, b], out, [a, b], (g, [as, bs]) => [
    a.requiresGrad ? fold(ta ? mm(bs, g, tb, true) : mm(g, bs, false, !tb), a.shape) : null,
    b.requiresGrad ? fold(tb ? mm(g, as, true, ta) : mm(as, g, !ta, false), b.shape) : null,
  ]);
});

/** Float64 CPU reference of C = op(A) op(B). */
export function matmulReference(
  a: ArrayLike<number>,
  aShape: readonly number[],
  b: ArrayLike<number>,
  bShape: readonly number[],
  ta = false,
  tb = false,
): Float64Array {
  const M = ta ? aShape[1] : aShape[0];
  const K = ta ? aShape[0] : aShape[1];
  const N = tb ? bShape[0] : bShape[1];
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let k = 0; k < K; k++) {
      const av = ta ? a[k * M + m] : a[m * K + k];
      for (let n = 0; n < N; n++) out[m * N + n] += av * (tb ? b[n * K + k] : b[k * N + n]);
    }
  return out;
}
