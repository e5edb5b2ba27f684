// Pooling backward without atomics: one thread per input element (n, h, w, c) gathers from the output
// windows that contain it: oh in [ceil((h + pt - kh + 1) / sh), floor((h + pt) / sh)] (likewise ow).
// Max: the window's gradient goes to its recorded arg-max (first maximum in scan order).
// Average: each window spreads g / divisor (the same divisor as the forward pass).
// T is f32, or vec4<f32> over 4 channels at a time when C is a multiple of 4 (then C counts vec4s).
override IS_MAX: bool = true;
override INCLUDE_PAD: bool = false;
struct Params { n: u32, H: u32, W: u32, C: u32, OH: u32, OW: u32, kh: u32, kw: u32, sh: u32, sw: u32, pt: u32, pl: u32 }
@group(0) @binding(0) var<storage, read> g: array<{{T}}>;
@group(0) @binding(1) var<storage, read> arg: array<{{U}}>;
@group(0) @binding(2) var<storage, read_write> dx: array<{{T}}>;
@group(0) @binding(3) var<uniform> p: Params;

fn firstWindow(pos: i32, k: u32, s: u32) -> u32 {
  let num = pos - i32(k) + 1;
  if (num <= 0) { return 0u; }
  return (u32(num) + s - 1u) / s;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let c = i % p.C;
  var q = i / p.C;
  let w = q % p.W;
  q = q / p.W;
  let h = q % p.H;
  let b = q / p.H;
  let hp = h + p.pt;
  let wp = w + p.pl;
  let oh0 = firstWindow(i32(hp), p.kh, p.sh);
  let oh1 = min(hp / p.sh + 1u, p.OH);
  let ow0 = firstWindow(i32(wp), p.kw, p.sw);
  let ow1 = min(wp / p.sw + 1u, p.OW);
  var s = {{T}}();
  for (var oh = oh0; oh < oh1; oh++) {
    for (var ow = ow0; ow < ow1; ow++) {
      let o = ((b * p.OH + oh) * p.OW + ow) * p.C + c;
      if (IS_MAX) {
        s += select({{T}}(), g[o], arg[o] == {{U}}((hp - oh * p.sh) * p.kw + (wp - ow * p.sw)));
      } else {
        var d = f32(p.kh * p.kw);
        if (!INCLUDE_PAD) {
          let h0 = i32(oh * p.sh) - i32(p.pt);
          let w0 = i32(ow * p.sw) - i32(p.pl);
          let rows = min(h0 + i32(p.kh), i32(p.H)) - max(h0, 0);
          let cols = min(w0 + i32(p.kw), i32(p.W)) - max(w0, 0);
          d = f32(rows * cols);
        }
        s += g[o] / d;
      }
    }
  }
  dx[i] = s;
}
