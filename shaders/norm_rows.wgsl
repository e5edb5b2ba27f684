// Layer and group normalization forward (src/kernels/norm.ts): a workgroup (SERIAL: an invocation) per
// row normalizes its values with their mean and biased variance (two passes), then applies gamma and
// beta per channel (AFFINE = 0: none). stats[row] = (mean, 1 / sqrt(var + eps)) for the backward pass.
override AFFINE: u32 = 1u;
struct Params { rows: u32, groups: u32, pixels: u32, channels: u32, cg: u32, eps: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<vec2<f32>>;
@group(0) @binding(5) var<uniform> p: Params;

{{NORM_COMMON}}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = rowWork(gid, wid, nwg, lid);
  let row = w.row;
  let m = p.pixels * p.cg;
  var s = 0.0;
  for (var j = w.first; j < m; j += w.step) { s += x[at(row, j)]; }
  let mean = rowSum(s, lid) / f32(m);
  var v = 0.0;
  for (var j = w.first; j < m; j += w.step) { let d = x[at(row, j)] - mean; v += d * d; }
  let rstd = inverseSqrt(rowSum(v, lid) / f32(m) + p.eps);
  if (!w.valid) { return; }
  for (var j = w.first; j < m; j += w.step) {
    let i = at(row, j);
    var o = (x[i] - mean) * rstd;
    if (AFFINE == 1u) { let ch = channel(row, j); o = o * gamma[ch] + beta[ch]; }
    y[i] = o;
  }
  if (w.first == 0u) { stats[row] = vec2<f32>(mean, rstd); }
}
