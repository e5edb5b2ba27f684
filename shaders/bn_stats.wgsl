// Batch statistics, pass 1: x viewed as [M, C] (channels last). Thread (k, c) scans rows
// [k * rows, min((k + 1) * rows, M)) of channel c (adjacent threads read adjacent channels: coalesced)
// and writes that chunk's mean and M2 (sum of squared deviations). The sums are shifted by the chunk's
// first value, so the variance stays accurate when |mean| >> std.
// part layout: [nchunks, 2, C] = (mean, M2) per chunk.
// T is f32, or vec4<f32> over 4 channels at a time when C is a multiple of 4 (then C counts vec4s).
struct Params { M: u32, C: u32, rows: u32, nchunks: u32 }
@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read_write> part: array<{{T}}>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.nchunks * p.C) { return; }
  let c = t % p.C;
  let k = t / p.C;
  let r0 = k * p.rows;
  let r1 = min(r0 + p.rows, p.M);
  let shift = x[r0 * p.C + c];
  var s1 = {{T}}();
  var s2 = {{T}}();
  var at = r0 * p.C + c;
  for (var r = r0; r < r1; r++) {
    let d = x[at] - shift;
    s1 += d;
    s2 += d * d;
    at += p.C;
  }
  let n = f32(r1 - r0);
  part[2u * k * p.C + c] = shift + s1 / n;
  // Rounding can leave M2 a hair below 0: clamp it, keeping NaN (a NaN input makes the statistics NaN).
  let m2 = s2 - s1 * s1 / n;
  part[(2u * k + 1u) * p.C + c] = select(m2, {{T}}(), m2 < {{T}}());
}
