// Interleave one stride phase of the input gradient into dX:
//   dx[b, py + sh*i, px + sw*j, c] = phase[b, i, j, c]  for i < Hp, j < Wp.
struct Params { total: u32, Hp: u32, Wp: u32, C: u32, H: u32, W: u32, py: u32, px: u32, sh: u32, sw: u32 }
@group(0) @binding(0) var<storage, read> phase: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = gid.x + gid.y * nwg.x * 256u;
  if (o >= p.total) { return; }
  let c = o % p.C;
  let pix = o / p.C;
  let j = pix % p.Wp;
  let i = (pix / p.Wp) % p.Hp;
  let b = pix / (p.Wp * p.Hp);
  dx[((b * p.H + p.py + p.sh * i) * p.W + p.px + p.sw * j) * p.C + c] = phase[o];
}
