// Layer and group normalization (src/kernels/norm.ts), a workgroup of 64 per row (SERIAL: an invocation).
// Forward: out = (x - mean) * rstd, rstd = 1 / sqrt(var + eps) (biased variance, two passes), then gamma
// and beta per channel (AFFINE); stats[row] = (mean, rstd) for the backward pass.
// GRAD: with xhat = (x - mean) * rstd and h = dy * gamma, out = dx = rstd * (h - mean(h) - xhat *
// mean(h * xhat)), dyxhat = dy * xhat (summed into gamma's gradient). Unused bindings are stand-ins.
override AFFINE: bool = true;
override GRAD: bool = false;
override SERIAL: bool = false;
struct Params { rows: u32, groups: u32, pixels: u32, channels: u32, cg: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<vec2<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> dyxhat: array<f32>;
@group(0) @binding(7) var<uniform> p: Params;
var<workgroup> red: array<f32, 64>;

// The flat index of element j of a row, and its channel.
fn at(row: u32, j: u32) -> u32 {
  let b = row / p.groups;
  let g = row % p.groups;
  return (b * p.pixels + j / p.cg) * p.channels + g * p.cg + j % p.cg;
}
fn channel(row: u32, j: u32) -> u32 { return (row % p.groups) * p.cg + j % p.cg; }

// The row's sum of v: v itself when one invocation has the row, else the workgroup's sum, returned to
// every invocation (called in uniform control flow).
fn rowSum(v: f32, lid: u32) -> f32 {
  if (SERIAL) { return v; }
  red[lid] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

// dy * gamma (gamma 1 without AFFINE).
fn h(row: u32, j: u32, i: u32) -> f32 {
  if (AFFINE) { return dy[i] * gamma[channel(row, j)]; }
  return dy[i];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // The row (clamped: every invocation reaches the barriers), and the first element and step of this
  // invocation's share of it.
  let flat = select(wid.x + wid.y * nwg.x, gid.x + gid.y * nwg.x * 64u, SERIAL);
  let row = min(flat, p.rows - 1u);
  let first = select(lid, 0u, SERIAL);
  let step = select(64u, 1u, SERIAL);
  let m = p.pixels * p.cg;
  if (GRAD) {
    let st = stats[row];
    var s1 = 0.0;
    var s2 = 0.0;
    for (var j = first; j < m; j += step) {
      let i = at(row, j);
      let hv = h(row, j, i);
      s1 += hv;
      s2 += hv * (x[i] - st.x) * st.y;
    }
    let mh = rowSum(s1, lid) / f32(m);
    let mhx = rowSum(s2, lid) / f32(m);
    // No early return: the forward's barriers below must stay in uniform control flow.
    if (flat < p.rows) {
      for (var j = first; j < m; j += step) {
        let i = at(row, j);
        let xhat = (x[i] - st.x) * st.y;
        out[i] = st.y * (h(row, j, i) - mh - xhat * mhx);
        dyxhat[i] = dy[i] * xhat;
      }
    }
    return;
  }
  var s = 0.0;
  for (var j = first; j < m; j += step) { s += x[at(row, j)]; }
  let mean = rowSum(s, lid) / f32(m);
  var v = 0.0;
  for (var j = first; j < m; j += step) { let d = x[at(row, j)] - mean; v += d * d; }
  let rstd = inverseSqrt(rowSum(v, lid) / f32(m) + p.eps);
  if (flat >= p.rows) { return; }
  for (var j = first; j < m; j += step) {
    let i = at(row, j);
    var o = (x[i] - mean) * rstd;
    if (AFFINE) { let ch = channel(row, j); o = o * gamma[ch] + beta[ch]; }
    out[i] = o;
  }
  if (first == 0u) { stats[row] = vec2<f32>(mean, rstd); }
}
