// Strided slab copy for concat / split over [outer, inner] row views of 32-bit words (f32 and int32 alike):
//   copy (one thread per slab element): dst[o * dstStride + dstOff + j] = src[o * srcStride + srcOff + j];
//   EMBED (one thread per dst element): the slab lands at dstOff, zeros elsewhere (the gradient of split).
// U is u32, or vec4<u32> when every size and offset is a multiple of 4 (then all counts are in vec4s).
override EMBED: bool = false;
struct Params { n: u32, inner: u32, srcStride: u32, srcOff: u32, dstStride: u32, dstOff: u32 }
@group(0) @binding(0) var<storage, read> src: array<{{U}}>;
@group(0) @binding(1) var<storage, read_write> dst: array<{{U}}>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.n) { return; }
  if (EMBED) {
    let o = t / p.dstStride;
    let j = t - o * p.dstStride;
    var v = {{U}}();
    if (j >= p.dstOff && j < p.dstOff + p.inner) { v = src[o * p.srcStride + p.srcOff + j - p.dstOff]; }
    dst[t] = v;
  } else {
    let o = t / p.inner;
    let j = t - o * p.inner;
    dst[o * p.dstStride + p.dstOff + j] = src[o * p.srcStride + p.srcOff + j];
  }
}
