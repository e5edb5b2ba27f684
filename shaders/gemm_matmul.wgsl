// Loaders for a plain matmul: C = op(A) op(B), op = transpose when TA / TB is 1 (override constants,
// so each of the four layouts compiles without branches); C gets split-k partial sums at [z, m, n].
// A is [M, K] (or [K, M] transposed), B is [K, N] (or [N, K]).
override TA: u32 = 0u;
override TB: u32 = 0u;
// ldc, cOff: C's row length and first column (N and 0 unless C is part of a wider tensor); lda, aOff:
// likewise A's (not transposed: K and 0 unless A is columns of a wider tensor); epiMode (untransposed
// layouts): the epilogue that src/kernels/gemm.ts adds, selected per dispatch.
struct Params { M: u32, N: u32, K: u32, kPerSplit: u32, ldc: u32, cOff: u32, lda: u32, aOff: u32{{EPI_MODE}} }
// A is bound as vec4s when its rows (K, or M when transposed) are multiples of 4.
@group(0) @binding(0) var<storage, read> a: array<{{A_TYPE}}>;
// B is bound as vec4s ({{B_TYPE}} = vec4<f32>) when it is not transposed and N % 4 == 0: one 16-byte
// load per k and four columns, instead of four scalar gathers (2x on CPU adapters: bench/LAB.md #11).
@group(0) @binding(1) var<storage, read> b: array<{{B_TYPE}}>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

struct ARow { m: u32, ok: bool }
fn aRow(m: u32) -> ARow { return ARow(m, m < p.M); }
// The k key (AKey, aK, kOf, aKStep, aKNext) and a per-column map of A applied as it is read (proA,
// proA4): the plain k, or with a prologue the k and its map's coefficients, loaded once per k step
// of the core rather than once per row.
{{A_KEY}}
fn loadA(r: ARow, kk: AKey) -> f32 {
  if (!r.ok) { return 0.0; }
  if (TA == 1u) { return aAt(kOf(kk) * p.M + r.m); }
  return proA(kk, aAt(r.m * p.lda + p.aOff + kOf(kk)));
}
fn aAt(i: u32) -> f32 { return {{A_AT}}; }
// A[m, k..k+3] for k % 4 == 0 (A not transposed): one vec4 load when A is bound as vec4s.
fn loadA4(r: ARow, kk: AKey) -> vec4<f32> {
  if (!r.ok) { return vec4<f32>(); }
  let i = r.m * p.lda + p.aOff + kOf(kk);
  return proA4(kk, {{A4_AT}});
}
// A[m..m+3, k] for m % 4 == 0 (A transposed, M % 4 == 0): one vec4 load when A is bound as vec4s.
fn loadA4rows(r: ARow, kk: AKey) -> vec4<f32> {
  if (!r.ok) { return vec4<f32>(); }
  let i = kOf(kk) * p.M + r.m;
  return {{A4_AT}};
}
fn bAt(i: u32) -> f32 { return {{B_AT}}; }
fn loadB(k: u32, n: u32) -> f32 {
  if (n >= p.N) { return 0.0; }
  if (TB == 1u) { return bAt(n * p.K + k); }
  return bAt(k * p.N + n);
}
fn loadB4(k: u32, n: u32) -> vec4<f32> {
  {{B4}}
}
{{B4X4}}
fn storeC(m: u32, n: u32, z: u32, v: f32) { c[(z * p.M + m) * p.ldc + p.cOff + n] = v; }
