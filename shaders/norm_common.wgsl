// Shared by the layer/group normalization kernels: the row layout and the row sums. SERIAL: one
// invocation per row (CPU adapters, where barriers are slow), else a workgroup of 64 per row.
override SERIAL: bool = false;
var<workgroup> red: array<f32, 64>;

// The flat index of element j of a row, and its channel.
fn at(row: u32, j: u32) -> u32 {
  let b = row / p.groups;
  let g = row % p.groups;
  return (b * p.pixels + j / p.cg) * p.channels + g * p.cg + j % p.cg;
}
fn channel(row: u32, j: u32) -> u32 { return (row % p.groups) * p.cg + j % p.cg; }

// The sum of v over the workgroup, returned to every invocation (called in uniform control flow).
fn wgSum(v: f32, lid: u32) -> f32 {
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

// The row's sum of v: v itself when one invocation has the row, else the workgroup's sum.
fn rowSum(v: f32, lid: u32) -> f32 {
  if (SERIAL) { return v; }
  return wgSum(v, lid);
}

// The row this invocation works on (clamped: every invocation reaches the barriers), whether it is a
// real one, and the first element and step of its share of the row.
struct RowWork { row: u32, valid: bool, first: u32, step: u32 }
fn rowWork(gid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> RowWork {
  let flat = select(wid.x + wid.y * nwg.x, gid.x + gid.y * nwg.x * 64u, SERIAL);
  return RowWork(min(flat, p.rows - 1u), flat < p.rows, select(lid, 0u, SERIAL), select(64u, 1u, SERIAL));
}
