// A coordinate outside every image (tap offsets stay far below 2^29): rows past M get it, so that
// loadA's bounds test also rejects them.
const OUTSIDE: i32 = -(1 << 29);

// Exact q = k / d and r = k % d for k < 2^24 (checked by the launch code) without an integer divide,
// which CPU adapters run lane by lane: estimate q in f32 with inv = 1/d, then correct by one.
fn divmod(k: u32, d: u32, inv: f32) -> vec2<u32> {
  var q = i32(f32(k) * inv);
  var r = i32(k) - q * i32(d);
  if (r < 0) { q -= 1; r += i32(d); } else if (r >= i32(d)) { q += 1; r -= i32(d); }
  return vec2<u32>(u32(q), u32(r));
}
