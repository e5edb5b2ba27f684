// Weights for one stride phase of the input gradient (see conv2d_dx.wgsl): the taps
// (kh0 + jh*khStep, kw0 + jw*kwStep), transposed from HWIO to [nKh, nKw, Cout, Cin]:
//   wt[jh, jw, co, ci] = w[kh0 + jh*khStep, kw0 + jw*kwStep, ci, co]
struct Params { total: u32, Cin: u32, Cout: u32, KW: u32, nKw: u32, kh0: u32, khStep: u32, kw0: u32, kwStep: u32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.total) { return; }
  let ci = i % p.Cin;
  let co = (i / p.Cin) % p.Cout;
  let t = i / (p.Cin * p.Cout);
  let kh = p.kh0 + (t / p.nKw) * p.khStep;
  let kw = p.kw0 + (t % p.nKw) * p.kwStep;
  wt[i] = w[((kh * p.KW + kw) * p.Cin + ci) * p.Cout + co];
}
