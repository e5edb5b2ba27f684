// The strided copy of 32-bit words (f32 and int32 alike) under permute, slice and pad. With c the coordinates
// of element i in `shape`: out[i] = x[base + sum_d src_d(c_d) * stride_d], where src_d(c) is c - before_d if
// that lies in the axis's `extent_d` source cells, else as pad's MODE says (0 constant: -1, reading `fill`'s
// bits; 1 reflect; 2 edge). SCATTER (plain axes only) writes the other way, out[base + ...] = x[i] (slice's
// gradient, into zeros). Each invocation moves a run of PER elements along the last axis (index arithmetic
// once per run); n counts runs. U is u32, or vec4<u32> when the last axis is plain and contiguous and
// everything is a multiple of 4.
const PER = 8u;
override SCATTER: bool = false;
override MODE: u32 = 0u;
struct Params {
  n: u32, rank: u32, base: i32, fill: u32,
  shape: array<vec4<u32>, 2>, stride: array<vec4<i32>, 2>, before: array<vec4<i32>, 2>, extent: array<vec4<i32>, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<{{U}}>;
@group(0) @binding(1) var<storage, read_write> out: array<{{U}}>;
@group(0) @binding(2) var<uniform> p: Params;

// The source of cell c of axis d (component r of vector q), -1 where the constant fills.
fn src_index(c: u32, q: u32, r: u32) -> i32 {
  let n = p.extent[q][r];
  let s = i32(c) - p.before[q][r];
  if (s >= 0 && s < n) { return s; }
  if (MODE == 1u) { return select(2 * (n - 1) - s, -s, s < 0); }
  if (MODE == 2u) { return clamp(s, 0, n - 1); }
  return -1;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let last = p.rank - 1u;
  let len = p.shape[last / 4u][last % 4u];
  let step = p.stride[last / 4u][last % 4u];
  let runs = (len + PER - 1u) / PER;
  let row = i / runs;
  let col0 = (i - row * runs) * PER;
  var rem = row;
  var at = p.base;
  var fill = false;
  for (var d = i32(last) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let c = rem % p.shape[q][r];
    rem = rem / p.shape[q][r];
    let s = src_index(c, q, r);
    fill = fill || s < 0;
    at += s * p.stride[q][r];
  }
  let flat = row * len + col0;
  let end = min(PER, len - col0);
  if (fill) {
    // An outer axis lies in a constant pad: the whole run is the fill.
    for (var k = 0u; k < end; k++) { out[flat + k] = {{U}}(p.fill); }
    return;
  }
  if (p.extent[last / 4u][last % 4u] == i32(len)) {
    // A plain last axis: a run of words `step` apart (the only case of SCATTER).
    var src = at + i32(col0) * step;
    for (var k = 0u; k < end; k++) {
      if (SCATTER) { out[u32(src)] = x[flat + k]; } else { out[flat + k] = x[u32(src)]; }
      src += step;
    }
    return;
  }
  for (var k = 0u; k < end; k++) {
    let s = src_index(col0 + k, last / 4u, last % 4u);
    var v = {{U}}(p.fill);
    if (s >= 0) { v = x[u32(at + s * step)]; }
    out[flat + k] = v;
  }
}
