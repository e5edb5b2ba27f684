// Winograd F(2x2, 3x3), weights: U[xi, ci, co] = (G g G^T)[xi] for the 3x3 filter g of input channel ci
// and output channel co, G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]], xi = 4 * row
// + column of the 4x4 result. U is row-major [16 * Cin, Cout]: the B operand of the 16 GEMMs.
// Unrolled into scalars: CPU adapters keep indexed arrays in memory.
struct Params { total: u32 } // Cin * Cout
@group(0) @binding(0) var<storage, read> w: array<f32>; // HWIO [3, 3, Cin, Cout]: tap t at t * total
@group(0) @binding(1) var<storage, read_write> u: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// One row (three taps) times G^T: four values, written at xi = 4 * r .. 4 * r + 3.
fn putRow(r: u32, i: u32, a: vec3<f32>) {
  let o = 4u * r * p.total + i;
  u[o] = a.x;
  u[o + p.total] = 0.5 * (a.x + a.y + a.z);
  u[o + 2u * p.total] = 0.5 * (a.x - a.y + a.z);
  u[o + 3u * p.total] = a.z;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u; // ci * Cout + co
  if (i >= p.total) { return; }
  let g0 = vec3<f32>(w[i], w[p.total + i], w[2u * p.total + i]); // filter row 0
  let g1 = vec3<f32>(w[3u * p.total + i], w[4u * p.total + i], w[5u * p.total + i]);
  let g2 = vec3<f32>(w[6u * p.total + i], w[7u * p.total + i], w[8u * p.total + i]);
  // G g: rows g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2.
  putRow(0u, i, g0);
  putRow(1u, i, 0.5 * (g0 + g1 + g2));
  putRow(2u, i, 0.5 * (g0 - g1 + g2));
  putRow(3u, i, g2);
}
