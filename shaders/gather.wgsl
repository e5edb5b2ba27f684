// gather / indexSelect along an axis: x viewed as [outer, len, inner], nIdx int32 indices (negative counts
// from the end; outside [-len, len) reads 0). inner counts T's (u32/f32 words, or vec4s of them).
//   GRAD = false: out[o, k, i] = x[o, idx[k], i], runs of PER elements along inner per invocation;
//   GRAD = true: dx[o, idx[k], i] += g[o, k, i] into a zero dx, one invocation per column (o, i) walking
//     k in order: repeated indices add up without atomics, deterministically.
const PER = 8u;
override GRAD: bool = false;
struct Params { n: u32, len: u32, nIdx: u32, inner: u32 }
@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> idx: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(3) var<uniform> p: Params;

// The row of x that index k names, or len when it is out of range.
fn row(k: u32) -> u32 {
  let n = i32(p.len);
  var j = idx[k];
  j = select(j, j + n, j < 0);
  return select(p.len, u32(j), j >= 0 && j < n);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.n) { return; }
  if (GRAD) {
    let i = t % p.inner;
    let o = t / p.inner;
    for (var k = 0u; k < p.nIdx; k++) {
      let j = row(k);
      if (j < p.len) {
        let at = (o * p.len + j) * p.inner + i;
        out[at] = out[at] + x[(o * p.nIdx + k) * p.inner + i];
      }
    }
  } else {
    let runs = (p.inner + PER - 1u) / PER;
    let i0 = (t % runs) * PER;
    let k = (t / runs) % p.nIdx;
    let o = t / (runs * p.nIdx);
    let j = row(k);
    let dst = (o * p.nIdx + k) * p.inner;
    let src = (o * p.len + j) * p.inner;
    for (var i = i0; i < min(i0 + PER, p.inner); i++) {
      var v = {{T}}();
      if (j < p.len) { v = x[src + i]; }
      out[dst + i] = v;
    }
  }
}
