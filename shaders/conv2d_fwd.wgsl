// Convolution forward as an implicit GEMM: C[m, n] = sum_k A[m, k] * B[k, n] + bias[n],
//   m = (b, oh, ow) over N*OH*OW rows, n = cout, k = (kh, kw, ci) over KH*KW*Cin (ci fastest),
//   A[m, k] = x[b, oh*sh - padT + kh*dilH, ow*sw - padL + kw*dilW, ci] (zero outside the image),
//   B = the HWIO weights as a row-major [KH*KW*Cin, Cout] matrix.
// KH, KW, padT and padL may describe a window of the kernel (conv2d.ts tapWindow), rows kOff.. of w.
struct Params {
  M: u32, N: u32, K: u32, kPerSplit: u32,
  H: i32, W: i32, Cin: u32, KW: u32, OH: u32, OW: u32,
  sh: i32, sw: i32, dilH: i32, dilW: i32, padT: i32, padL: i32, hasBias: u32,
  invCin: f32, invKW: f32, invOH: f32, invOW: f32,
  ldc: u32, cOff: u32, kOff: u32,
  epiMode: u32, // the epilogue that src/kernels/gemm.ts adds (0: none)
}
@group(0) @binding(0) var<storage, read> x: array<{{A_TYPE}}>; // vec4s when Cin % 4 == 0
@group(0) @binding(1) var<storage, read> w: array<{{B_TYPE}}>; // vec4s when N % 4 == 0
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// base: flat index of x[b, ih0, iw0, 0] (may be negative: only read when the tap is inside).
struct ARow { base: i32, ih0: i32, iw0: i32 }
fn aRow(m: u32) -> ARow {
  let q0 = divmod(m, p.OW, p.invOW); // (b*OH + oh, ow)
  let q1 = divmod(q0.x, p.OH, p.invOH); // (b, oh)
  let ih0 = i32(q1.y) * p.sh - p.padT;
  let iw0 = i32(q0.y) * p.sw - p.padL;
  // Rows past M get an origin far outside the image, so loadA's bounds test rejects them too.
  return ARow((i32(q1.x) * p.H * p.W + ih0 * p.W + iw0) * i32(p.Cin), select(OUTSIDE, ih0, m < p.M), iw0);
}
// off: flat offset of tap (kh, kw, ci) from the window's top-left; (ty, tx) = (kh*dilH, kw*dilW).
struct AK { off: i32, ty: i32, tx: i32 }
fn aK(k: u32) -> AK {
  let q0 = divmod(k, p.Cin, p.invCin); // (kh*KW + kw, ci)
  let q1 = divmod(q0.x, p.KW, p.invKW); // (kh, kw)
  let ty = i32(q1.x) * p.dilH;
  let tx = i32(q1.y) * p.dilW;
  return AK((ty * p.W + tx) * i32(p.Cin) + i32(q0.y), ty, tx);
}
// aK(k + j) for k % 4 == 0, j < 4 and Cin % 4 == 0: the next channels of the same tap.
fn aKStep(k: AK, j: u32) -> AK { return AK(k.off + i32(j), k.ty, k.tx); }
fn loadA(r: ARow, k: AK) -> f32 {
  let ih = r.ih0 + k.ty;
  let iw = r.iw0 + k.tx;
  // u32 casts fold the `>= 0` tests into the `< size` tests.
  if (u32(ih) >= u32(p.H) || u32(iw) >= u32(p.W)) { return 0.0; }
  let i = u32(r.base + k.off);
  return {{A_AT}};
}
// Four channels ci..ci+3 of one tap (k % 4 == 0, Cin % 4 == 0): one vec4 load when x is bound as vec4s.
fn loadA4(r: ARow, k: AK) -> vec4<f32> {
  let ih = r.ih0 + k.ty;
  let iw = r.iw0 + k.tx;
  if (u32(ih) >= u32(p.H) || u32(iw) >= u32(p.W)) { return vec4<f32>(); }
  let i = u32(r.base + k.off);
  return {{A4_AT}};
}
{{B_LOADERS}}
// Split-k partials go to [z, m, n]; the bias is added once, by split 0.
fn storeC(m: u32, n: u32, z: u32, v: f32) {
  var s = v;
  if (p.hasBias == 1u && z == 0u) { s += bias[n]; }
  c[(z * p.M + m) * p.ldc + p.cOff + n] = s;
}
