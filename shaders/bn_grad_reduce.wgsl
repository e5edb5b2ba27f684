// Batch-norm backward, pass 1: per chunk of rows and channel, sum(g) and sum(g * xhat), with
// xhat = (x - mean) * inv (FROM_VAR: inv = 1/sqrt(s + eps), inference mode). Same chunking as
// bn_stats.wgsl; part layout [nchunks, 2, C].
// T is f32, or vec4<f32> over 4 channels at a time when C is a multiple of 4 (then C counts vec4s).
override FROM_VAR: bool = false;
struct Params { M: u32, C: u32, rows: u32, nchunks: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> g: array<{{T}}>;
@group(0) @binding(2) var<storage, read> mean: array<{{T}}>;
@group(0) @binding(3) var<storage, read> s: array<{{T}}>;
@group(0) @binding(4) var<storage, read_write> part: array<{{T}}>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.nchunks * p.C) { return; }
  let c = t % p.C;
  let k = t / p.C;
  let r0 = k * p.rows;
  let r1 = min(r0 + p.rows, p.M);
  let mu = mean[c];
  var inv = s[c];
  if (FROM_VAR) { inv = inverseSqrt(inv + p.eps); }
  var sg = {{T}}();
  var sgx = {{T}}();
  var at = r0 * p.C + c;
  for (var r = r0; r < r1; r++) {
    let gv = g[at];
    sg += gv;
    sgx += gv * (x[at] - mu);
    at += p.C;
  }
  part[2u * k * p.C + c] = sg;
  part[(2u * k + 1u) * p.C + c] = sgx * inv;
}
