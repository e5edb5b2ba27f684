// dx = f'(x, y) * g elementwise, for the unary op table in src/kernels/elementwise.ts.
struct Params { n: u32, alpha: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn df(x: f32, y: f32, g: f32, alpha: f32) -> f32 { return {{GRAD}}; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < p.n) { dx[i] = df(x[i], y[i], g[i], p.alpha); }
}
