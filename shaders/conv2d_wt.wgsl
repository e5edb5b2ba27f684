// Weights for one stride phase of the input gradient (conv2d_dx.wgsl), HWIO to [nKh, nKw, Cout, Cin]:
//   wt[jh, jw, co, ci] = w[kh0 + jh*khStep, kw0 + jw*kwStep, ci, co]
// in 4x4 blocks of vec4s (BLOCK = 4, Cin and Cout multiples of 4) or one element per invocation.
const BLOCK: u32 = {{BLOCK}}u;
struct Params {
  total: u32, CinB: u32, CoutB: u32, KW: u32, nKw: u32, kh0: u32, khStep: u32, kw0: u32, kwStep: u32,
  invCinB: f32, invCoutB: f32, invNKw: f32,
}
@group(0) @binding(0) var<storage, read> w: array<{{T}}>;
@group(0) @binding(1) var<storage, read_write> wt: array<{{T}}>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.total) { return; }
  let q0 = divmod(i, p.CinB, p.invCinB); // (t*CoutB + cob, cib): blocks of BLOCK channels
  let q1 = divmod(q0.x, p.CoutB, p.invCoutB); // (t, cob)
  let q2 = divmod(q1.x, p.nKw, p.invNKw); // (jh, jw)
  let tap = (p.kh0 + q2.x * p.khStep) * p.KW + p.kw0 + q2.y * p.kwStep;
  // w row (tap, ci = cib*BLOCK + r) starts at element (tap*Cin + ci)*Cout, i.e. (tap*Cin + ci)*CoutB in units of T.
  let src = (tap * p.CinB * BLOCK + q0.y * BLOCK) * p.CoutB + q1.y;
{{BODY}}
}
