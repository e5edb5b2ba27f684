// Winograd F(2x2, 3x3), the 16 products M[xi] = V[xi] U[xi] ([tiles, Cin] by [Cin, Cout]) as one
// split-k launch of the GEMM engine (loaders for gemm_regtile / gemm_shared): k = xi * Cin + ci runs
// over all 16 blocks and each split is Cin long, so split z's partial sums are exactly product z,
// stored at [z, m, n] for the output transform (src/kernels/winograd.ts). Computing V in these
// loaders instead of a pass of its own (four pixels per value) made a body SwiftShader's compiler
// did not finish.
struct Params { M: u32, N: u32, K: u32, kPerSplit: u32, Cin: u32, invCin: f32 }
@group(0) @binding(0) var<storage, read> vt: array<{{A_TYPE}}>; // V [16, M, Cin], vec4s when Cin % 4 == 0
@group(0) @binding(1) var<storage, read> u: array<{{B_TYPE}}>; // U [16 * Cin, N], vec4s when N % 4 == 0
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

struct ARow { base: u32, ok: bool }
fn aRow(m: u32) -> ARow { return ARow(m * p.Cin, m < p.M); }
// The k key: the flat offset of V[xi, 0, ci].
alias AKey = u32;
fn aK(k: u32) -> u32 {
  let q = divmod(k, p.Cin, p.invCin); // (xi, ci)
  return q.x * p.M * p.Cin + q.y;
}
// aK(k + j) for k % 4 == 0, j < 4, Cin % 4 == 0: the same block.
fn aKStep(kk: u32, j: u32) -> u32 { return kk + j; }
fn loadA(r: ARow, kk: u32) -> f32 {
  if (!r.ok) { return 0.0; }
  let i = r.base + kk;
  return {{A_AT}};
}
fn loadA4(r: ARow, kk: u32) -> vec4<f32> {
  if (!r.ok) { return vec4<f32>(); }
  let i = r.base + kk;
  return {{A4_AT}};
}
{{B_LOADERS}}
fn storeC(m: u32, n: u32, z: u32, v: f32) { c[(z * p.M + m) * p.N + n] = v; }
