// Sum over the middle axis of x viewed as [outer, r, inner], in chunks along r: out[o, c, i] = scale *
// sum_{j in chunk c} x[o, j, i] (one chunk: a plain sum; two passes keep a GPU busy when outer * inner is small).
struct Params { outer: u32, r: u32, inner: u32, chunk: u32, nchunks: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.outer * p.nchunks * p.inner) { return; }
  let i = t % p.inner;
  let c = (t / p.inner) % p.nchunks;
  let o = t / (p.inner * p.nchunks);
  let j0 = c * p.chunk;
  let j1 = min(j0 + p.chunk, p.r);
  var s = 0.0;
  var at = (o * p.r + j0) * p.inner + i;
  for (var j = j0; j < j1; j++) {
    s += x[at];
    at += p.inner;
  }
  out[t] = s * p.scale;
}
