// N-d padding with a mode, on 32-bit words (f32 and int32 alike). Element i of the output has
// coordinates c_d in `shape`; its source coordinate on axis d is s = c_d - before_d, and where s
// falls outside [0, inShape_d):
//   mode 0 (constant): the output is `value` (its bit pattern);
//   mode 1 (reflect, NumPy/PyTorch 'reflect', the edge not repeated): s -> -s, or 2 (n - 1) - s;
//   mode 2 (edge, NumPy 'edge' / PyTorch 'replicate'): s clamped to [0, n - 1].
// Each axis maps independently, so this equals padding one axis after another (the gradient does).
// U is u32, or vec4<u32> when the last axis is unpadded and a multiple of 4 (its extents count vec4s).
struct Params {
  n: u32, rank: u32, mode: u32, value: u32,
  shape: array<vec4<u32>, 2>, inShape: array<vec4<u32>, 2>, before: array<vec4<i32>, 2>,
}
@group(0) @binding(0) var<storage, read> x: array<{{U}}>;
@group(0) @binding(1) var<storage, read_write> out: array<{{U}}>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  var rem = i;
  var at = 0u;
  var mult = 1u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let c = rem % p.shape[q][r];
    rem = rem / p.shape[q][r];
    let n = i32(p.inShape[q][r]);
    var s = i32(c) - p.before[q][r];
    if (s < 0 || s >= n) {
      if (p.mode == 0u) {
        out[i] = {{U}}(p.value);
        return;
      }
      if (p.mode == 1u) {
        s = select(s, -s, s < 0);
        s = select(s, 2 * (n - 1) - s, s >= n);
      } else {
        s = clamp(s, 0, n - 1);
      }
    }
    at += u32(s) * mult;
    mult *= u32(n);
  }
  out[i] = x[at];
}
