// Gradients of shaders/reduce_ops.wgsl, an invocation per element of x as [outer, r, inner] (y, g and the
// states per (outer, inner)): max/min: g / ties where x equals the extremum (NaN matching NaN), else 0;
// prod: g * P / x without zeros, g * P at the only zero (P: the product of the non-zeros), else 0.
struct Params { n: u32, r: u32, inner: u32, op: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.n) { return; }
  let i = t % p.inner;
  let o = t / (p.inner * p.r);
  let k = o * p.inner + i;
  let v = x[t];
  let s = aux[k];
  var d = 0.0;
  if (p.op <= 1u) {
    let m = y[k];
    if (v == m || (!(v == v) && !(m == m))) { d = g[k] / f32(s.y); }
  } else {
    let nz = bitcast<f32>(s.x);
    if (s.y == 0u) { d = g[k] * nz / v; } else if (s.y == 1u && v == 0.0) { d = g[k] * nz; }
  }
  dx[t] = d;
}
