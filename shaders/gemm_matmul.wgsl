// Loaders of a matmul C = op(A) op(B), op = transpose when TA / TB is 1 (override constants, so each
// layout compiles without branches): A is [M, K] (or [K, M]), B is [K, N] (or [N, K]); split z's partial
// sums go to C[z, m, n]. ldc, cOff: C's row length and first column; lda, aOff: likewise A's (when not
// transposed). src/kernels/matmul.ts fills the k key, the B loaders and the extra Params fields (the
// batched matmul's, or epiMode). A and B are bound as vec4s where their rows allow.
override TA: u32 = 0u;
override TB: u32 = 0u;
struct Params { M: u32, N: u32, K: u32, kPerSplit: u32, ldc: u32, cOff: u32, lda: u32, aOff: u32{{PARAMS}} }
@group(0) @binding(0) var<storage, read> a: array<{{A_TYPE}}>;
@group(0) @binding(1) var<storage, read> b: array<{{B_TYPE}}>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

struct ARow { m: u32, ok: bool }
fn aRow(m: u32) -> ARow { return ARow(m, m < p.M); }
// The k key (AKey, aK, kOf, aKStep, aKNext) and a per-column map of A applied as it is read (proA, proA4).
{{A_KEY}}
fn loadA(r: ARow, kk: AKey) -> f32 {
  if (!r.ok) { return 0.0; }
  if (TA == 1u) { return aAt(kOf(kk) * p.M + r.m); }
  return proA(kk, aAt(r.m * p.lda + p.aOff + kOf(kk)));
}
fn aAt(i: u32) -> f32 { return {{A_AT}}; }
// A[m, k..k+3] for k % 4 == 0 (A not transposed).
fn loadA4(r: ARow, kk: AKey) -> vec4<f32> {
  if (!r.ok) { return vec4<f32>(); }
  let i = r.m * p.lda + p.aOff + kOf(kk);
  return proA4(kk, {{A4_AT}});
}
// A[m..m+3, k] for m % 4 == 0 (A transposed, M % 4 == 0).
fn loadA4rows(r: ARow, kk: AKey) -> vec4<f32> {
  if (!r.ok) { return vec4<f32>(); }
  let i = kOf(kk) * p.M + r.m;
  return {{A4_AT}};
}
{{B_LOADERS}}
fn storeC(m: u32, n: u32, z: u32, v: f32) { c[(z * p.M + m) * p.ldc + p.cOff + n] = v; }
