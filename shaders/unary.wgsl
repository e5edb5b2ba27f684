// y = f(x) elementwise (src/kernels/elementwise.ts); T is f32 or vec4<f32> (n counts T's).
alias T = {{T}};
struct Params { n: u32, alpha: f32, beta: f32 }
@group(0) @binding(0) var<storage, read> x: array<T>;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<uniform> p: Params;

// A NaN input gives NaN whatever the adapter's exp or log make of it (SwiftShader's exp(NaN) is inf).
fn f(x: T, alpha: f32, beta: f32) -> T { return select({{EXPR}}, x, !(x == x)); }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < p.n) { y[i] = f(x[i], p.alpha, p.beta); }
}
