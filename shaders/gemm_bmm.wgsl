// Loaders for a batched matmul C[z] = op(A[z]) op(B[z]) (src/kernels/matmul.ts), one launch of the GEMM
// engine in its `batches` mode: k = z * Kb + kk runs over every batch's inner dimension and each split
// is Kb long, so split z's partial sums are exactly C[z], stored at [z, m, n]. A is [batches, M, Kb]
// ([batches, Kb, M] when TA), B is [batches, Kb, N] ([batches, N, Kb] when TB), both contiguous.
override TA: u32 = 0u;
override TB: u32 = 0u;
struct Params { M: u32, N: u32, K: u32, kPerSplit: u32, Kb: u32, invKb: f32 }
// A is bound as vec4s when its rows (Kb, or M when transposed) are multiples of 4.
@group(0) @binding(0) var<storage, read> a: array<{{A_TYPE}}>;
@group(0) @binding(1) var<storage, read> b: array<{{B_TYPE}}>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

struct ARow { m: u32, ok: bool }
fn aRow(m: u32) -> ARow { return ARow(m, m < p.M); }
// The k key: the flat offset of op(A)[z, 0, kk] (row m adds m * Kb, or m when A is transposed, where
// A[z, kk, m] = a[(z * Kb + kk) * M + m] = a[k * M + m]).
alias AKey = u32;
fn aK(k: u32) -> u32 {
  if (TA == 1u) { return k * p.M; }
  let q = divmod(k, p.Kb, p.invKb);
  return q.x * p.M * p.Kb + q.y;
}
// aK(k + j) for k % 4 == 0, j < 4 and Kb % 4 == 0 (the same batch), and aK(k + 1).
fn aKStep(kk: u32, j: u32) -> u32 { return select(kk + j, kk + j * p.M, TA == 1u); }
fn aKNext(kk: u32) -> u32 { return select(kk + 1u, kk + p.M, TA == 1u); }
fn aAt(i: u32) -> f32 { return {{A_AT}}; }
fn loadA(r: ARow, kk: u32) -> f32 {
  if (!r.ok) { return 0.0; }
  if (TA == 1u) { return aAt(kk + r.m); }
  return aAt(kk + r.m * p.Kb);
}
// A[z, m, kk..kk+3] (not transposed, Kb % 4 == 0) and A[z, m..m+3, kk] (transposed, M % 4 == 0).
fn loadA4(r: ARow, kk: u32) -> vec4<f32> {
  if (!r.ok) { return vec4<f32>(); }
  let i = kk + r.m * p.Kb;
  return {{A4_AT}};
}
fn loadA4rows(r: ARow, kk: u32) -> vec4<f32> {
  if (!r.ok) { return vec4<f32>(); }
  let i = kk + r.m;
  return {{A4_AT}};
}
// Not transposed, B[z, kk, n] = b[k * N + n]: B is the row-major [batches * Kb, N] matrix (vec4s when
// N % 4 == 0); transposed, B[z, n, kk] = b[(z * N + n) * Kb + kk].
{{B_LOADERS}}
fn storeC(m: u32, n: u32, z: u32, v: f32) { c[(z * p.M + m) * p.N + n] = v; }
