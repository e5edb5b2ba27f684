// Shared by the layer/group normalization kernels: the row layout and a workgroup sum (64 invocations).
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
