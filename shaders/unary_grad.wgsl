// dx = f'(x, y, g) elementwise (src/kernels/elementwise.ts); T is f32 or vec4<f32> (n counts T's).
alias T = {{T}};
struct Params { n: u32, alpha: f32, beta: f32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read> y: array<T>;
@group(0) @binding(2) var<storage, read> g: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;
@group(0) @binding(4) var<uniform> p: Params;

fn df(x: T, y: T, g: T, alpha: f32, beta: f32) -> T { return {{GRAD}}; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < p.n) { dx[i] = df(x[i], y[i], g[i], p.alpha, p.beta); }
}
