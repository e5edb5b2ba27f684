// Shared by the convolution loaders and the grouped kernel.

// A coordinate that puts any tap outside every image (tap offsets stay far below 2^29): rows past M
// get it, so that loadA's bounds test also rejects them.
const OUTSIDE: i32 = -(1 << 29);

// Exact q = k / d and r = k % d without an integer divide: CPU adapters (lavapipe, SwiftShader)
// vectorize across invocations and have no vector integer divide, so `k / d` by a uniform becomes 8
// scalar divides. Estimate q in f32 with inv = 1/d, then correct once: for k < 2^24 and d >= 2 the
// estimate is off by at most one (d = 1 is exact). The launch code checks that every index it
// decomposes this way stays below 2^24.
fn divmod(k: u32, d: u32, inv: f32) -> vec2<u32> {
  var q = i32(f32(k) * inv);
  var r = i32(k) - q * i32(d);
  if (r < 0) { q -= 1; r += i32(d); } else if (r >= i32(d)) { q += 1; r -= i32(d); }
  return vec2<u32>(u32(q), u32(r));
}
