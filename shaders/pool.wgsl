// 2-D max / average pooling over NHWC, one thread per output element (c fastest: coalesced). A NaN
// wins the max (a comparison with NaN is false: a cell takes over when it is not <= the best so far and
// the best is no NaN). Padded cells never win a max and, unless INCLUDE_PAD, are left out of the
// average's divisor. When the uniform saveArg is 1 (a training forward), max pooling records the window
// offset ty * kw + tx of the first maximum for the backward pass. T is f32, or vec4<f32> over 4 channels
// (then C counts vec4s). mapX(c, v) maps each input cell as it is read: v itself, or (inference) a
// per-channel affine map and ReLU, i.e. a batch norm in front of the pooling.
@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read_write> y: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> arg: array<{{U}}>;
@group(0) @binding(3) var<uniform> p: Params;
{{MAP}}
{{POOL_COMMON}}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let c = i % p.C;
  var q = i / p.C;
  let ow = q % p.OW;
  q = q / p.OW;
  let oh = q % p.OH;
  let b = q / p.OH;
  let h0 = i32(oh * p.sh) - i32(p.pt);
  let w0 = i32(ow * p.sw) - i32(p.pl);
  // The window's taps inside the image: rows h0 + ty * dh for ty in [ry.x, ry.y), likewise columns.
  let ry = tapRange(h0, p.kh, p.dh, p.H);
  let rx = tapRange(w0, p.kw, p.dw, p.W);
  let ws = u32(w0 + i32(rx.x * p.dw));
  var best = mapX(c, x[((b * p.H + u32(h0 + i32(ry.x * p.dh))) * p.W + ws) * p.C + c]);
  var bi = {{U}}(ry.x * p.kw + rx.x);
  var s = {{T}}();
  for (var ty = ry.x; ty < ry.y; ty++) {
    var at = ((b * p.H + u32(h0 + i32(ty * p.dh))) * p.W + ws) * p.C + c;
    for (var tx = rx.x; tx < rx.y; tx++) {
      let v = mapX(c, x[at]);
      if (IS_MAX) {
        let better = !(v <= best) & (best == best);
        best = select(best, v, better);
        bi = select(bi, {{U}}(ty * p.kw + tx), better);
      } else {
        s += v;
      }
      at += p.dw * p.C;
    }
  }
  if (IS_MAX) {
    y[i] = best;
    if (p.saveArg == 1u) { arg[i] = bi; }
  } else {
    var d = f32((ry.y - ry.x) * (rx.y - rx.x));
    if (INCLUDE_PAD) { d = f32(p.kh * p.kw); }
    y[i] = s / d;
  }
}
