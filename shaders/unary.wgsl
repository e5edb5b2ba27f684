// y = f(x) elementwise; f comes from the op table in src/kernels/elementwise.ts.
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn f(x: f32, alpha: f32) -> f32 { return {{EXPR}}; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < p.n) { y[i] = f(x[i], p.alpha); }
}
