// Winograd F(2x2, 3x3), input: V[xi, t, c] = (B^T d B)[xi] for the 4x4 input tile d of output tile t
// (t = (b, th, tw); its top-left input pixel is (2 th - padT, 2 tw - padL), zeros outside the image)
// and channel c, B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]. V is [16, tiles, C]:
// the A operand of the 16 GEMMs. {{T}} is vec4<f32> over 4 channels when C % 4 == 0 (C counts them).
// Written out in scalars: CPU adapters keep indexed arrays in memory.
struct Params { total: u32, tiles: u32, H: i32, W: i32, C: u32, TH: u32, TW: u32, padT: i32, padL: i32 }
@group(0) @binding(0) var<storage, read> x: array<{{T}}>; // NHWC
@group(0) @binding(1) var<storage, read_write> v: array<{{T}}>;
@group(0) @binding(2) var<uniform> p: Params;

struct Four { a: {{T}}, b: {{T}}, c: {{T}}, d: {{T}} }
// B^T times a column (or, on the other side, a row times B) of four values.
fn bt(d0: {{T}}, d1: {{T}}, d2: {{T}}, d3: {{T}}) -> Four { return Four(d0 - d2, d1 + d2, d2 - d1, d1 - d3); }
// Pixel column w of the tile: rows h0 .. h0 + 3 (flat index `at` of (h0, w)), B^T applied.
fn column(at: i32, h0: i32, w: i32) -> Four {
  let row = p.W * i32(p.C);
  return bt(load(at, h0, w), load(at + row, h0 + 1, w), load(at + 2 * row, h0 + 2, w), load(at + 3 * row, h0 + 3, w));
}
fn load(i: i32, h: i32, w: i32) -> {{T}} {
  if (u32(h) >= u32(p.H) || u32(w) >= u32(p.W)) { return {{T}}(); }
  return x[u32(i)];
}
// Row r of B^T d times B: xi = 4r .. 4r + 3.
fn store(r: u32, i: u32, q: Four) {
  let step = p.tiles * p.C;
  let o = 4u * r * step + i;
  v[o] = q.a;
  v[o + step] = q.b;
  v[o + 2u * step] = q.c;
  v[o + 3u * step] = q.d;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u; // t * C + c
  if (i >= p.total) { return; }
  let c = i % p.C;
  let t = i / p.C;
  let tw = t % p.TW;
  let q = t / p.TW;
  let h0 = i32((q % p.TH) * 2u) - p.padT;
  let w0 = i32(tw * 2u) - p.padL;
  let b = i32(q / p.TH);
  let at = ((b * p.H + h0) * p.W + w0) * i32(p.C) + i32(c); // (h0, w0): may lie outside, read only inside
  let c0 = column(at, h0, w0);
  let c1 = column(at + i32(p.C), h0, w0 + 1);
  let c2 = column(at + 2 * i32(p.C), h0, w0 + 2);
  let c3 = column(at + 3 * i32(p.C), h0, w0 + 3);
  store(0u, i, bt(c0.a, c1.a, c2.a, c3.a));
  store(1u, i, bt(c0.b, c1.b, c2.b, c3.b));
  store(2u, i, bt(c0.c, c1.c, c2.c, c3.c));
  store(3u, i, bt(c0.d, c1.d, c2.d, c3.d));
}
