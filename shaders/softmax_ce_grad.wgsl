// Softmax cross-entropy, backward, one thread per logit: dz[i, c] = (softmax(z)[i, c] * sum_c' t[i, c'] -
// t[i, c]) * w_i * g / N, with lse, sum t and w_i from the forward (aux) and g the loss's gradient.
struct Params { n: u32, C: u32, N: u32, invN: f32 }
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * 256u;
  if (k >= p.n) { return; }
  let i = k / p.C;
  let d = z[k] - aux[3u * i];
  let prob = select(exp(d), d, !(d == d)); // NaN stays NaN (SwiftShader's exp(NaN) is inf)
  dz[k] = (prob * aux[3u * i + 1u] - t[k]) * aux[3u * i + 2u] * g[0] * p.invN;
}
