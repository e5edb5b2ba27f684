// Shared by the pooling kernels (pool.wgsl, pool_grad.wgsl): the overrides, the window geometry, and the
// taps t in [start, end) of a window whose first tap is at o0, with k taps d apart, that land inside
// [0, n) (o0 + t * d); the geometry check refuses empty windows.
override IS_MAX: bool = true;
override INCLUDE_PAD: bool = false;
struct Params {
  n: u32, H: u32, W: u32, C: u32, OH: u32, OW: u32,
  kh: u32, kw: u32, sh: u32, sw: u32, dh: u32, dw: u32, pt: u32, pl: u32, saveArg: u32,
}
fn tapRange(o0: i32, k: u32, d: u32, n: u32) -> vec2<u32> {
  let start = select(0u, (u32(-o0) + d - 1u) / d, o0 < 0);
  let end = min(k, u32(max(i32(n) - o0 + i32(d) - 1, 0)) / d);
  return vec2<u32>(start, end);
}
