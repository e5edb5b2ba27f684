// Convolution weight gradient as an implicit GEMM: dW[m, n] = sum_k A[m, k] * B[k, n],
//   m = (kh, kw, ci) over KH*KW*Cin rows (dW's HWIO layout), n = co, k = (b, oh, ow) over N*OH*OW,
//   A[m, k] = x[b, oh*sh - padT + kh*dilH, ow*sw - padL + kw*dilW, ci] (zero outside the image),
//   B[k, n] = dY as a row-major [N*OH*OW, Cout] matrix.
// KH, KW, padT and padL may describe a window of the kernel, stored from element cOff of dW.
struct Params {
  M: u32, N: u32, K: u32, kPerSplit: u32,
  H: i32, W: i32, Cin: u32, KW: u32, OH: u32, OW: u32,
  sh: i32, sw: i32, dilH: i32, dilW: i32, padT: i32, padL: i32,
  invCin: f32, invKW: f32, invOH: f32, invOW: f32,
  colStep: i32, rowEnd: i32, imageEnd: i32, rowJump: i32, imageJump: i32,
  ldc: u32, cOff: u32,
}
@group(0) @binding(0) var<storage, read> x: array<{{A_TYPE}}>; // vec4s when Cin % 4 == 0
@group(0) @binding(1) var<storage, read> dy: array<{{B_TYPE}}>; // vec4s when N % 4 == 0
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

struct ARow { off: i32, oy: i32, ox: i32 }
fn aRow(m: u32) -> ARow {
  let q0 = divmod(m, p.Cin, p.invCin); // (kh*KW + kw, ci)
  let q1 = divmod(q0.x, p.KW, p.invKW); // (kh, kw)
  let oy = i32(q1.x) * p.dilH - p.padT;
  let ox = i32(q1.y) * p.dilW - p.padL;
  // Rows past M get a tap offset far outside the image, so loadA's bounds test rejects them too.
  return ARow((oy * p.W + ox) * i32(p.Cin) + i32(q0.y), select(OUTSIDE, oy, m < p.M), ox);
}
// base: flat index of x[b, oh*sh, ow*sw, 0] (the window origin before padding and taps).
struct AK { base: i32, iy: i32, ix: i32 }
fn aK(k: u32) -> AK {
  let q0 = divmod(k, p.OW, p.invOW); // (b*OH + oh, ow)
  let q1 = divmod(q0.x, p.OH, p.invOH); // (b, oh)
  let iy = i32(q1.y) * p.sh;
  let ix = i32(q0.y) * p.sw;
  return AK((i32(q1.x) * p.H * p.W + iy * p.W + ix) * i32(p.Cin), iy, ix);
}
// aK(k + 1) from aK(k): the next output pixel along the row, wrapping to the next row and image
// (selects, not branches: every lane of the loop holds the same k).
fn aKNext(k: AK) -> AK {
  let wrapX = k.ix + p.sw >= p.rowEnd;
  var iy = select(k.iy, k.iy + p.sh, wrapX);
  var base = k.base + select(p.colStep, p.colStep + p.rowJump, wrapX);
  let wrapY = iy >= p.imageEnd;
  iy = select(iy, 0, wrapY);
  base = select(base, base + p.imageJump, wrapY);
  return AK(base, iy, select(k.ix + p.sw, 0, wrapX));
}
fn loadA(r: ARow, k: AK) -> f32 {
  let ih = k.iy + r.oy;
  let iw = k.ix + r.ox;
  if (u32(ih) >= u32(p.H) || u32(iw) >= u32(p.W)) { return 0.0; }
  let i = u32(k.base + r.off);
  return {{A_AT}};
}
// Rows m..m+3 (m % 4 == 0, Cin % 4 == 0): four channels of one tap, one vec4 load when x is bound as vec4s.
fn loadA4rows(r: ARow, k: AK) -> vec4<f32> {
  let ih = k.iy + r.oy;
  let iw = k.ix + r.ox;
  if (u32(ih) >= u32(p.H) || u32(iw) >= u32(p.W)) { return vec4<f32>(); }
  let i = u32(k.base + r.off);
  return {{A4_AT}};
}
{{B_LOADERS}}
fn storeC(m: u32, n: u32, z: u32, v: f32) { c[(z * p.M + m) * p.ldc + p.cOff + n] = v; }
