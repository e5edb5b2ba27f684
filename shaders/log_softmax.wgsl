// Log-softmax along the middle axis of x as [outer, r, inner], an invocation per (outer, inner) row:
// y = x - m - log(sum exp(x - m)), m the row's maximum (NaN throughout where a NaN or an infinite maximum
// is, as PyTorch's formula).
struct Params { outer: u32, r: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 64u;
  if (t >= p.outer * p.inner) { return; }
  let i = t % p.inner;
  let base = (t / p.inner) * p.r * p.inner + i;
  var m = x[base];
  var nan = false;
  for (var j = 0u; j < p.r; j++) {
    let v = x[base + j * p.inner];
    m = max(m, v);
    nan = nan || !(v == v);
  }
  var se = 0.0;
  for (var j = 0u; j < p.r; j++) { se += exp(x[base + j * p.inner] - m); }
  // se >= 1 for a finite maximum, so log is exact on every adapter. NaN spelled out (max drops it).
  nan = nan || abs(m) > 3.4e38;
  let lse = m + log(se);
  for (var j = 0u; j < p.r; j++) {
    let at = base + j * p.inner;
    out[at] = select(x[at] - lse, (x[at] - x[at]) / (x[at] - x[at]), nan);
  }
}
