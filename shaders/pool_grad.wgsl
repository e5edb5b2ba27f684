// Pooling backward without atomics: one thread per input element (n, h, w, c) gathers from the output
// windows that span it: oh in [ceil((h + pt - ekh + 1) / sh), floor((h + pt) / sh)] with the dilated
// window ekh = (kh - 1) * dh + 1 (likewise ow), those whose tap ty = (h + pt - oh * sh) / dh lands on it.
// Max: the window's gradient goes to its recorded arg-max; average: each window spreads g / divisor.
@group(0) @binding(0) var<storage, read> g: array<{{T}}>;
@group(0) @binding(1) var<storage, read> arg: array<{{U}}>;
@group(0) @binding(2) var<storage, read_write> dx: array<{{T}}>;
@group(0) @binding(3) var<uniform> p: Params;
{{POOL_COMMON}}

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
  let oh0 = firstWindow(i32(hp), (p.kh - 1u) * p.dh + 1u, p.sh);
  let oh1 = min(hp / p.sh + 1u, p.OH);
  let ow0 = firstWindow(i32(wp), (p.kw - 1u) * p.dw + 1u, p.sw);
  let ow1 = min(wp / p.sw + 1u, p.OW);
  var s = {{T}}();
  for (var oh = oh0; oh < oh1; oh++) {
    let ty = hp - oh * p.sh;
    if (ty % p.dh != 0u) { continue; }
    for (var ow = ow0; ow < ow1; ow++) {
      let tx = wp - ow * p.sw;
      if (tx % p.dw != 0u) { continue; }
      let o = ((b * p.OH + oh) * p.OW + ow) * p.C + c;
      if (IS_MAX) {
        s += select({{T}}(), g[o], arg[o] == {{U}}((ty / p.dh) * p.kw + tx / p.dw));
      } else {
        var d = f32(p.kh * p.kw);
        if (!INCLUDE_PAD) {
          let ry = tapRange(i32(oh * p.sh) - i32(p.pt), p.kh, p.dh, p.H);
          let rx = tapRange(i32(ow * p.sw) - i32(p.pl), p.kw, p.dw, p.W);
          d = f32((ry.y - ry.x) * (rx.y - rx.x));
        }
        s += g[o] / d;
      }
    }
  }
  dx[i] = s;
}
