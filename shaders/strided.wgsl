// The strided copy of 32-bit words (f32 and int32 alike) under permute, slice and pad. With c the coordinates
// of element i in `shape`: out[i] = x[base + sum_d src_d(c_d) * stride_d], where src_d(c) is c, or on a
// mapped axis (table_d >= 0) the entry tab[table_d + c] (pad's sources per padded axis), -1 reading `fill`
// (its bits). SCATTER (plain axes only) writes the other way, out[base + ...] = x[i] (slice's gradient, into
// zeros). Each invocation moves a run of PER elements along the last axis (index arithmetic once per run);
// n counts runs. U is u32, or vec4<u32> when the last axis is plain and contiguous and everything is a
// multiple of 4.
const PER = 8u;
override SCATTER: bool = false;
struct Params {
  n: u32, rank: u32, base: i32, fill: u32,
  shape: array<vec4<u32>, 2>, stride: array<vec4<i32>, 2>, table: array<vec4<i32>, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<{{U}}>;
@group(0) @binding(1) var<storage, read> tab: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<{{U}}>;
@group(0) @binding(3) var<uniform> p: Params;

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
    let start = p.table[q][r];
    var s = i32(c);
    if (start >= 0) { s = tab[u32(start) + c]; }
    fill = fill || s < 0;
    at += s * p.stride[q][r];
  }
  let flat = row * len + col0;
  let end = min(PER, len - col0);
  let start = p.table[last / 4u][last % 4u];
  if (start < 0 && !fill) {
    // A plain last axis: a run of words `step` apart (the only case of SCATTER).
    var src = at + i32(col0) * step;
    for (var k = 0u; k < end; k++) {
      if (SCATTER) { out[u32(src)] = x[flat + k]; } else { out[flat + k] = x[u32(src)]; }
      src += step;
    }
    return;
  }
  for (var k = 0u; k < end; k++) {
    let s = tab[u32(start) + col0 + k];
    var v = {{U}}(p.fill);
    if (!fill && s >= 0) { v = x[u32(at + s * step)]; }
    out[flat + k] = v;
  }
}
