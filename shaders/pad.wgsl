// Window copy with zero fill: out[b, i, j, c] = x[b, i + offY, j + offX, c] inside x, else 0: zeroPad2d
// with offsets (-top, -left) on a larger output, its gradient (a crop) with (top, left). T is f32, or
// vec4<f32> when C is a multiple of 4 (then C and total count vec4s: 4 channels share one index split).
struct Params { total: u32, H: i32, W: i32, C: u32, OH: u32, OW: u32, offY: i32, offX: i32 }
@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 256u;
  if (o >= p.total) { return; }
  let pix = o / p.C;
  let c = o - pix * p.C;
  let row = pix / p.OW;
  let j = i32(pix - row * p.OW) + p.offX;
  let b = row / p.OH;
  let i = i32(row - b * p.OH) + p.offY;
  var v = {{T}}();
  if (i >= 0 && i < p.H && j >= 0 && j < p.W) { v = x[u32((i32(b) * p.H + i) * p.W + j) * p.C + c]; }
  out[o] = v;
}
