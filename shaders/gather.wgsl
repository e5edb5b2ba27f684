// The gradient of gather / indexSelect (the forward is shaders/strided.wgsl): with x viewed as
// [outer, len, inner] and nIdx int32 indices (negative counts from the end; outside [-len, len) reads 0),
// dx[o, idx[k], i] += g[o, k, i] into a zero dx, one invocation per column (o, i) walking k in order:
// repeated indices add up without atomics, deterministically. inner counts T's (f32 or vec4<f32>).
struct Params { n: u32, len: u32, nIdx: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> g: array<{{T}}>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> dx: array<{{T}}>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.n) { return; }
  let i = t % p.inner;
  let o = t / p.inner;
  let n = i32(p.len);
  for (var k = 0u; k < p.nIdx; k++) {
    var j = idx[k];
    j = select(j, j + n, j < 0);
    if (j >= 0 && j < n) {
      let at = (o * p.len + u32(j)) * p.inner + i;
      dx[at] = dx[at] + g[(o * p.nIdx + k) * p.inner + i];
    }
  }
}
