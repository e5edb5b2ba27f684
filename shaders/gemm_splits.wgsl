// Finishes a split-k GEMM: C[m, n] = the sum of the splits' partial products part[z, m, n], then the
// epilogue (src/kernels/gemm.ts, selected by epiMode; 0: none). C: columns [cOff, cOff + N) of rows ldc long.
struct Params { M: u32, N: u32, total: u32, splits: u32, ldc: u32, cOff: u32, epiMode: u32 }
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
{{EPILOGUE}}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.total) { return; }
  var s = 0.0;
  for (var z = 0u; z < p.splits; z++) { s += part[z * p.total + i]; }
  let m = i / p.N;
  let n = i - m * p.N;
  c[m * p.ldc + p.cOff + n] = epilogue(n, s);
}
