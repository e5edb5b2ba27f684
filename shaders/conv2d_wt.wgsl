// Weight transpose for the input gradient: wt[t, co, ci] = w[t, ci, co] for each tap t = (kh, kw)
// (HWIO -> [KH, KW, Cout, Cin]), so that the dX GEMM reads B row-major along ci.
struct Params { taps: u32, Cin: u32, Cout: u32 }
@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> wt: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.taps * p.Cin * p.Cout) { return; }
  let ci = i % p.Cin;
  let co = (i / p.Cin) % p.Cout;
  let t = i / (p.Cin * p.Cout);
  wt[i] = w[(t * p.Cin + ci) * p.Cout + co];
}
