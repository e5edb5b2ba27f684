// Convolution input gradient as an implicit GEMM (loaders for gemm_regtile / gemm_shared).
//   dX[m, n] = sum_k A[m, k] * B[k, n]
//   m = (b, ih, iw) over N*H*W rows, n = ci, k = (kh, kw, co) over KH*KW*Cout (co fastest).
//   Rule: y[b, oh, ow] reads x[b, oh*sh - padT + kh*dh, ...], so x[ih] receives dY[oh] through tap kh
//   exactly when oh*sh = ih + padT - kh*dh, i.e. (ih + padT - kh*dh) is a non-negative multiple of the
//   stride and the quotient oh is < OH (likewise for columns). Otherwise A[m, k] = 0.
//   A[m, k] = dY[b, oh, ow, co];  B[k, n] = w[kh, kw, n, co], read from wt = w transposed to
//   [KH, KW, Cout, Cin] (a row-major [K, Cin] matrix: coalesced along n on GPUs).
// The strides are compile-time constants here, so the multiple-of-stride test is a shift and a mask.
const SH: i32 = {{SH}};
const SW: i32 = {{SW}};
struct Params {
  M: u32, N: u32, K: u32, kPerSplit: u32,
  H: u32, W: u32, OH: i32, OW: i32, Cout: u32, KW: u32,
  dh: i32, dw: i32, padT: i32, padL: i32,
  invH: f32, invW: f32, invCout: f32, invKW: f32,
}
@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// base: flat index of dY[b, 0, 0, 0]; (ihp, iwp) = (ih + padT, iw + padL).
struct ARow { base: i32, ihp: i32, iwp: i32, ok: bool }
fn aRow(m: u32) -> ARow {
  let q0 = divmod(m, p.W, p.invW); // (b*H + ih, iw)
  let q1 = divmod(q0.x, p.H, p.invH); // (b, ih)
  return ARow(i32(q1.x) * p.OH * p.OW * i32(p.Cout), i32(q1.y) + p.padT, i32(q0.y) + p.padL, m < p.M);
}
// (ty, tx) = (kh*dh, kw*dw); co = output channel.
struct AK { co: i32, ty: i32, tx: i32 }
fn aK(k: u32) -> AK {
  let q0 = divmod(k, p.Cout, p.invCout); // (kh*KW + kw, co)
  let q1 = divmod(q0.x, p.KW, p.invKW); // (kh, kw)
  return AK(i32(q0.y), i32(q1.x) * p.dh, i32(q1.y) * p.dw);
}
fn loadA(r: ARow, k: AK) -> f32 {
  let ty = r.ihp - k.ty;
  let tx = r.iwp - k.tx;
  let oh = ty / SH;
  let ow = tx / SW;
  if (!r.ok || ty < 0 || tx < 0 || oh * SH != ty || ow * SW != tx || oh >= p.OH || ow >= p.OW) { return 0.0; }
  return dy[r.base + (oh * p.OW + ow) * i32(p.Cout) + k.co];
}
fn loadB(k: u32, n: u32) -> f32 {
  if (n >= p.N) { return 0.0; }
  return wt[k * p.N + n];
}
fn storeC(m: u32, n: u32, z: u32, v: f32) { c[(z * p.M + m) * p.N + n] = v; }
