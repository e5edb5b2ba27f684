// Row softmax over z [N, C] (inference probabilities): one thread per row, max-subtracted.
struct Params { N: u32, C: u32 }
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

{{ROW_LSE}}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.N) { return; }
  let base = i * p.C;
  let lse = rowLse(base, p.C);
  for (var c = 0u; c < p.C; c++) { y[base + c] = expKeepNaN(z[base + c] - lse); }
}
