// Winograd F(2x2, 3x3), output: the 2x2 tile Y = A^T M A, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], of the
// 16 products M[xi, t, co] (the GEMM's split-k partials), plus the bias, then the epilogue (a fused
// batch norm and activation, see src/kernels/gemm.ts, filled in below) that the uniform epiMode selects
// (0: none); pixels past OH x OW (odd sizes) are not stored. y's rows are ldc long from column cOff (a
// concatenation built in place).
override HAS_BIAS: bool = false;
struct Params {
  total: u32, tiles: u32, N: u32, OH: u32, OW: u32, TH: u32, TW: u32, ldc: u32, cOff: u32, epiMode: u32,
}
@group(0) @binding(0) var<storage, read> m: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
{{EPILOGUE}}

fn put(b: u32, oh: u32, ow: u32, co: u32, v: f32) {
  if (oh >= p.OH || ow >= p.OW) { return; }
  var s = v;
  if (HAS_BIAS) { s += bias[co]; }
  y[((b * p.OH + oh) * p.OW + ow) * p.ldc + p.cOff + co] = epilogue(co, s);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u; // t * N + co
  if (i >= p.total) { return; }
  let co = i % p.N;
  let t = i / p.N;
  let tw = t % p.TW;
  let q = t / p.TW;
  let th = q % p.TH;
  let b = q / p.TH;
  let step = p.tiles * p.N;
  // P = A^T M one column s at a time, then Y = P A.
  let s0 = column(i, step);
  let s1 = column(i + step, step);
  let s2 = column(i + 2u * step, step);
  let s3 = column(i + 3u * step, step);
  put(b, 2u * th, 2u * tw, co, s0.x + s1.x + s2.x);
  put(b, 2u * th, 2u * tw + 1u, co, s1.x - s2.x - s3.x);
  put(b, 2u * th + 1u, 2u * tw, co, s0.y + s1.y + s2.y);
  put(b, 2u * th + 1u, 2u * tw + 1u, co, s1.y - s2.y - s3.y);
}

// Column s of M (xi = s, 4 + s, 8 + s, 12 + s; `i` is at xi = s) times A^T's rows: (m0 + m1 + m2, m1 - m2 - m3).
fn column(i: u32, step: u32) -> vec2<f32> {
  let m0 = m[i];
  let m1 = m[i + 4u * step];
  let m2 = m[i + 8u * step];
  let m3 = m[i + 12u * step];
  return vec2<f32>(m0 + m1 + m2, m1 - m2 - m3);
}
