// Batch-norm backward, dx. With xhat = (x - mean) * inv and gamma = 1 when absent:
//   training: dx = gamma * inv / M * (M * g - sum(g) - xhat * sum(g * xhat));  inference: g * gamma * inv.
// T is f32, or vec4<f32> over 4 channels (C counts T's).
override HAS_GAMMA: bool = true;
override TRAINING: bool = true;
override FROM_VAR: bool = false;
struct Params { n: u32, C: u32, M: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> g: array<{{T}}>;
@group(0) @binding(2) var<storage, read> mean: array<{{T}}>;
@group(0) @binding(3) var<storage, read> s: array<{{T}}>;
@group(0) @binding(4) var<storage, read> gamma: array<{{T}}>;
@group(0) @binding(5) var<storage, read> sg: array<{{T}}>;
@group(0) @binding(6) var<storage, read> sgx: array<{{T}}>;
@group(0) @binding(7) var<storage, read_write> dx: array<{{T}}>;
@group(0) @binding(8) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let c = i % p.C;
  var inv = s[c];
  if (FROM_VAR) { inv = inverseSqrt(inv + p.eps); }
  var k = inv;
  if (HAS_GAMMA) { k *= gamma[c]; }
  if (TRAINING) {
    let m = f32(p.M);
    let xhat = (x[i] - mean[c]) * inv;
    dx[i] = k / m * (m * g[i] - sg[c] - xhat * sgx[c]);
  } else {
    dx[i] = g[i] * k;
  }
}
