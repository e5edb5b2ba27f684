// N-d padding with a mode, on 32-bit words. Output coordinate c_d reads source s = c_d - before_d; outside
// [0, inShape_d): mode 0 (constant) writes `value` (its bits), 1 (reflect, the edge not repeated) maps
// s -> -s or 2 (n - 1) - s, 2 (edge / replicate) clamps. Axes map independently (as padding one axis after
// another, which the gradient does). Each invocation writes a run of PER elements along the last axis;
// n counts runs. U is u32, or vec4<u32> when the last axis is unpadded and a multiple of 4.
const PER = 8u;
struct Params {
  n: u32, rank: u32, mode: u32, value: u32,
  shape: array<vec4<u32>, 2>, inShape: array<vec4<u32>, 2>, before: array<vec4<i32>, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<{{U}}>;
@group(0) @binding(1) var<storage, read_write> out: array<{{U}}>;
@group(0) @binding(2) var<uniform> p: Params;

// The source coordinate of output coordinate c on an axis of n elements padded by `before`, or -1
// where the constant mode fills it.
fn source(c: u32, n: i32, before: i32) -> i32 {
  var s = i32(c) - before;
  if (s >= 0 && s < n) { return s; }
  if (p.mode == 0u) { return -1; }
  if (p.mode == 1u) {
    s = select(s, -s, s < 0);
    return select(s, 2 * (n - 1) - s, s >= n);
  }
  return clamp(s, 0, n - 1);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let last = p.rank - 1u;
  let q = last / 4u;
  let r = last % 4u;
  let len = p.shape[q][r];
  let nLast = p.inShape[q][r];
  let runs = (len + PER - 1u) / PER;
  let row = i / runs;
  let col0 = (i - row * runs) * PER;
  // The other axes: the source row's offset, or a fill when one of them falls in a constant pad.
  var rem = row;
  var at = 0u;
  var mult = nLast;
  var fill = false;
  for (var d = i32(last) - 1; d >= 0; d--) {
    let qd = u32(d) / 4u;
    let rd = u32(d) % 4u;
    let c = rem % p.shape[qd][rd];
    rem = rem / p.shape[qd][rd];
    let n = p.inShape[qd][rd];
    let s = source(c, i32(n), p.before[qd][rd]);
    fill = fill || s < 0;
    at += u32(max(s, 0)) * mult;
    mult *= n;
  }
  let flat = row * len + col0;
  let end = min(PER, len - col0);
  for (var k = 0u; k < end; k++) {
    let s = source(col0 + k, i32(nLast), p.before[q][r]);
    var v = {{U}}(p.value);
    if (!fill && s >= 0) { v = x[at + u32(s)]; }
    out[flat + k] = v;
  }
}
