// Element-type conversions on 32-bit words: mode 0 int32 -> f32; mode 1 f32 -> int32, truncated, saturating,
// NaN -> 0 (spelled out: WGSL leaves NaN open); mode 2 one-hot: out[t] = 1.0 where x[t / C] == t % C.
struct Params { n: u32, mode: u32, C: u32 }
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.n) { return; }
  if (p.mode == 0u) {
    out[t] = bitcast<u32>(f32(bitcast<i32>(x[t])));
  } else if (p.mode == 1u) {
    let v = bitcast<f32>(x[t]);
    var i = 0;
    if (v >= 2147483648.0) { i = 2147483647; } else if (v <= -2147483648.0) { i = -2147483647 - 1; }
    else if (v == v) { i = i32(v); }
    out[t] = bitcast<u32>(i);
  } else {
    let label = bitcast<i32>(x[t / p.C]);
    out[t] = bitcast<u32>(select(0.0, 1.0, label == i32(t % p.C)));
  }
}
