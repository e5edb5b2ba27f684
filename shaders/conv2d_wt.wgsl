// Weights for one stride phase of the input gradient (see conv2d_dx.wgsl): the taps
// (kh0 + jh*khStep, kw0 + jw*kwStep), transposed from HWIO to [nKh, nKw, Cout, Cin]:
//   wt[jh, jw, co, ci] = w[kh0 + jh*khStep, kw0 + jw*kwStep, ci, co]
// Index decomposition by divmod (conv2d_common.wgsl): no integer divides, which CPU adapters run
// lane by lane.
struct Params { total: u32, Cin: u32, Cout: u32, KW: u32, nKw: u32, kh0: u32, khStep: u32, kw0: u32, kwStep: u32, invCin: f32, invCout: f32, invNkw: f32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.total) { return; }
  let q0 = divmod(i, p.Cin, p.invCin); // (t*Cout + co, ci)
  let q1 = divmod(q0.x, p.Cout, p.invCout); // (t, co)
  let q2 = divmod(q1.x, p.nKw, p.invNkw); // (jh, jw)
  let kh = p.kh0 + q2.x * p.khStep;
  let kw = p.kw0 + q2.y * p.kwStep;
  wt[i] = w[((kh * p.KW + kw) * p.Cin + q0.y) * p.Cout + q1.y];
}
