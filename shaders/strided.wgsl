// Strided copy of 32-bit words (f32 and int32 alike), under transpose/permute, slice and slice's gradient.
// With c(i) the coordinates of element i in `shape`: out[i] = x[base + sum_d c_d(i) * stride_d], or with
// SCATTER out[base + sum_d c_d(i) * stride_d] = x[i] (slice's gradient, into zeros). Each invocation moves
// a run of PER elements along the last axis (index arithmetic once per run); n counts runs. U is u32, or
// vec4<u32> when the innermost axis is contiguous and everything is a multiple of 4.
const PER = 8u;
override SCATTER: bool = false;
struct Params { n: u32, rank: u32, base: i32, shape: array<vec4<u32>, 2>, stride: array<vec4<i32>, 2> }
@group(0) @binding(0) var<storage, read> x: array<{{U}}>;
@group(0) @binding(1) var<storage, read_write> out: array<{{U}}>;
@group(0) @binding(2) var<uniform> p: Params;

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
  var at = p.base + i32(col0) * step;
  for (var d = i32(last) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let c = rem % p.shape[q][r];
    rem = rem / p.shape[q][r];
    at += i32(c) * p.stride[q][r];
  }
  let flat = row * len + col0;
  let end = min(PER, len - col0);
  for (var k = 0u; k < end; k++) {
    if (SCATTER) { out[u32(at)] = x[flat + k]; } else { out[flat + k] = x[u32(at)]; }
    at += step;
  }
}
