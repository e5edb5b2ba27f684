// Batch norm's per-channel sums, pass 1, x as [M, C]: thread (k, c) scans rows [k * rows, (k + 1) * rows)
// of channel c into part [nchunks, 2, C]. T: f32 or vec4<f32> (C counts T's).
//   statistics: the chunk's (mean, M2), its sums shifted by its first value (accurate when |mean| >> std);
//   GRAD: sum(g) and sum(g * xhat), xhat = (x - mean) * inv (FROM_VAR: inv = 1/sqrt(s + eps)).
override GRAD: bool = false;
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
  var s1 = {{T}}();
  var s2 = {{T}}();
  var at = r0 * p.C + c;
  if (GRAD) {
    let mu = mean[c];
    var inv = s[c];
    if (FROM_VAR) { inv = inverseSqrt(inv + p.eps); }
    for (var r = r0; r < r1; r++) {
      let gv = g[at];
      s1 += gv;
      s2 += gv * (x[at] - mu);
      at += p.C;
    }
    part[2u * k * p.C + c] = s1;
    part[(2u * k + 1u) * p.C + c] = s2 * inv;
    return;
  }
  let shift = x[at];
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
