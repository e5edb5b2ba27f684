// The gradient of reflect or edge padding along one axis: x as [outer, len, inner], g as [outer, P, inner]
// (P = before + len + after); dx[o, j, i] sums g[o, q, i] over the padded q whose source is j: q = j + before;
// reflect (mode 1) also q = before - j (1 <= j <= before) and q = before + 2 (len - 1) - j in the after part;
// edge (mode 2) j = 0 takes q < before, j = len - 1 takes q >= before + len. One invocation per element of dx.
struct Params { n: u32, len: u32, inner: u32, P: u32, before: u32, mode: u32 }
@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.n) { return; }
  let i = t % p.inner;
  let j = (t / p.inner) % p.len;
  let o = t / (p.inner * p.len);
  let row = o * p.P * p.inner + i;
  var s = g[row + (j + p.before) * p.inner];
  let after0 = p.before + p.len;
  if (p.mode == 1u) {
    if (j >= 1u && j <= p.before) { s += g[row + (p.before - j) * p.inner]; }
    let q = p.before + 2u * (p.len - 1u) - j;
    if (j + 1u < p.len && q >= after0 && q < p.P) { s += g[row + q * p.inner]; }
  } else if (p.mode == 2u) {
    if (j == 0u) { for (var q = 0u; q < p.before; q++) { s += g[row + q * p.inner]; } }
    if (j + 1u == p.len) { for (var q = after0; q < p.P; q++) { s += g[row + q * p.inner]; } }
  }
  dx[t] = s;
}
