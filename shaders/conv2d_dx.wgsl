// Convolution input gradient as implicit GEMMs, one per stride phase: x[ih] receives dY[oh] through tap
// kh when oh*sh = ih + padT - kh*dilH. For the rows ih = py + sh*i of one phase those taps are kh = kh0 +
// j*khStep (j < nKh), with oh = i + ohOff - j*ohStep (both exact); likewise for columns. So each phase
// is a dense GEMM with no wasted taps and no division in loadA:
//   m = (b, i, j) over N*Hp*Wp rows, n = ci, k = (jh, jw, co) over nKh*nKw*Cout (co fastest),
//   A[m, k] = dY[b, i + ohOff - jh*ohStep, j + owOff - jw*owStep, co] (zero outside dY),
//   B[k, n] = w[kh0 + jh*khStep, kw0 + jw*kwStep, n, co]: `wt` gathered per phase by conv2d_wt.wgsl, or
//   w itself where the core reads B four k at a time (src/kernels/conv2d.ts fills the B loaders).
// conv2d_scatter.wgsl interleaves the phases into dX (with stride 1 the one phase is dX).
struct Params {
  M: u32, N: u32, K: u32, kPerSplit: u32,
  Hp: u32, Wp: u32, OH: u32, OW: u32, Cout: u32, nKw: u32,
  ohOff: i32, owOff: i32, ohStep: i32, owStep: i32,
  invHp: f32, invWp: f32, invCout: f32, invNKw: f32,
  Cin: u32, KW: u32, kh0: u32, khStep: u32, kw0: u32, kwStep: u32,
}
@group(0) @binding(0) var<storage, read> dy: array<{{A_TYPE}}>; // vec4s when Cout % 4 == 0
@group(0) @binding(1) var<storage, read> wt: array<{{B_TYPE}}>; // vec4s when N % 4 == 0 (or w, along co)
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// base: flat index of dY[b, 0, 0, 0]; (oh0, ow0) = (i + ohOff, j + owOff): the output pixel of tap 0.
struct ARow { base: i32, oh0: i32, ow0: i32 }
fn aRow(m: u32) -> ARow {
  let q0 = divmod(m, p.Wp, p.invWp); // (b*Hp + i, j)
  let q1 = divmod(q0.x, p.Hp, p.invHp); // (b, i)
  // Rows past M get a tap-0 pixel far outside dY, so loadA's bounds test rejects them too.
  return ARow(i32(q1.x * p.OH * p.OW * p.Cout), select(OUTSIDE, i32(q1.y) + p.ohOff, m < p.M), i32(q0.y) + p.owOff);
}
// (ty, tx) = (jh*ohStep, jw*owStep): how far tap (jh, jw) moves the output pixel back.
struct AK { co: i32, ty: i32, tx: i32 }
fn aK(k: u32) -> AK {
  let q0 = divmod(k, p.Cout, p.invCout); // (jh*nKw + jw, co)
  let q1 = divmod(q0.x, p.nKw, p.invNKw); // (jh, jw)
  return AK(i32(q0.y), i32(q1.x) * p.ohStep, i32(q1.y) * p.owStep);
}
// aK(k + j) for k % 4 == 0, j < 4 and Cout % 4 == 0: the next output channels of the same tap.
fn aKStep(k: AK, j: u32) -> AK { return AK(k.co + i32(j), k.ty, k.tx); }
fn loadA(r: ARow, k: AK) -> f32 {
  let oh = r.oh0 - k.ty;
  let ow = r.ow0 - k.tx;
  if (u32(oh) >= p.OH || u32(ow) >= p.OW) { return 0.0; }
  let i = u32(r.base + (oh * i32(p.OW) + ow) * i32(p.Cout) + k.co);
  return {{A_AT}};
}
// Four output channels co..co+3 (k % 4 == 0, Cout % 4 == 0): one vec4 load when dY is bound as vec4s.
fn loadA4(r: ARow, k: AK) -> vec4<f32> {
  let oh = r.oh0 - k.ty;
  let ow = r.ow0 - k.tx;
  if (u32(oh) >= p.OH || u32(ow) >= p.OW) { return vec4<f32>(); }
  let i = u32(r.base + (oh * i32(p.OW) + ow) * i32(p.Cout) + k.co);
  return {{A4_AT}};
}
{{B_LOADERS}}
fn storeC(m: u32, n: u32, z: u32, v: f32) { c[(z * p.M + m) * p.N + n] = v; }
