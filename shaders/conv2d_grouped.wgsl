// Grouped and depthwise convolution, direct, forward and both gradients from this one source, chosen
// by the MODE override. Each invocation computes one pixel (or weight tap) for a quad of 4 consecutive
// channels of its output, so that the index math is shared four ways and, for depthwise convolution,
// the loads of x, dY and w are contiguous across the quad.
//   0 forward:         out[b, oh, ow, co] = bias[co] + sum_{kh, kw, j < Cig} x[b, ih, iw, g*Cig + j] * w[kh, kw, j, co]
//                      with g = co / Cog, ih = oh*sh - padT + kh*dh, iw = ow*sw - padL + kw*dw (zero outside).
//   1 input gradient:  dx[b, ih, iw, ci] = sum_{kh, kw, j < Cog} dY[b, oh, ow, g*Cog + j] * w[kh, kw, ci % Cig, g*Cog + j]
//                      with g = ci / Cig, over the taps where oh*sh = ih + padT - kh*dh (a non-negative
//                      multiple of the stride, oh < OH), likewise for columns.
//   2 weight gradient: partial[chunk, kh, kw, j, co] = sum over the output pixels q = (b, oh, ow) of this
//                      chunk of x[b, ih, iw, g*Cig + j] * dY[q, co]; the launch code sums the chunks.
// Groups: G groups, Cig = Cin / G inputs and Cog = Cout / G outputs each; weights HWIO [KH, KW, Cig, Cout].
// Depthwise is G = Cin (Cig = 1). Bindings: a = x (modes 0, 2) or dY (1); b = w (0, 1) or dY (2).
// `total` counts invocations: pixels (or taps x chunks) times quads, quads = ceil(channels / 4).
override MODE: u32 = 0u;
struct Params {
  total: u32, quads: u32, H: i32, W: i32, Cin: u32, OH: i32, OW: i32, Cout: u32, KH: u32, KW: u32,
  sh: i32, sw: i32, dh: i32, dw: i32, padT: i32, padL: i32, Cig: u32, Cog: u32, hasBias: u32,
  positions: u32, chunk: u32,
  invH: f32, invW: f32, invOH: f32, invOW: f32, invCig: f32, invCog: f32,
}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// Invocation i -> (item, quad): item = pixel or tap-chunk, channels quad*4 .. quad*4+3. A true
// division: i may exceed the 2^24 up to which divmod is exact (items stay below it).
fn split(i: u32) -> vec2<u32> { return vec2<u32>(i / p.quads, i % p.quads); }
// Pixel index -> (b, row, col) for an image of rows x cols.
fn pixel(pix: u32, rows: u32, invRows: f32, cols: u32, invCols: f32) -> vec3<i32> {
  let q0 = divmod(pix, cols, invCols);
  let q1 = divmod(q0.x, rows, invRows);
  return vec3<i32>(i32(q1.x), i32(q1.y), i32(q0.y));
}

fn forward(item: u32, c0: u32) {
  let px = pixel(item, u32(p.OH), p.invOH, u32(p.OW), p.invOW);
  var xoff: vec4<u32>; // per lane: first input channel of its group
  for (var l = 0u; l < 4u; l++) { xoff[l] = divmod(min(c0 + l, p.Cout - 1u), p.Cog, p.invCog).x * p.Cig; }
  var acc = vec4<f32>(0.0);
  for (var kh = 0; kh < i32(p.KH); kh++) {
    let ih = px.y * p.sh - p.padT + kh * p.dh;
    if (ih < 0 || ih >= p.H) { continue; }
    for (var kw = 0; kw < i32(p.KW); kw++) {
      let iw = px.z * p.sw - p.padL + kw * p.dw;
      if (iw < 0 || iw >= p.W) { continue; }
      let xb = u32((px.x * p.H + ih) * p.W + iw) * p.Cin;
      let wb = u32(kh * i32(p.KW) + kw) * p.Cig * p.Cout;
      for (var j = 0u; j < p.Cig; j++) {
        for (var l = 0u; l < 4u; l++) { acc[l] += a[xb + xoff[l] + j] * b[wb + j * p.Cout + min(c0 + l, p.Cout - 1u)]; }
      }
    }
  }
  let ob = item * p.Cout + c0;
  for (var l = 0u; l < 4u; l++) {
    if (c0 + l >= p.Cout) { break; }
    var v = acc[l];
    if (p.hasBias == 1u) { v += bias[c0 + l]; }
    out[ob + l] = v;
  }
}

fn inputGrad(item: u32, c0: u32) {
  let px = pixel(item, u32(p.H), p.invH, u32(p.W), p.invW);
  var yoff: vec4<u32>; // per lane: first output channel of its group
  var woff: vec4<u32>; // per lane: (ci % Cig) * Cout + first output channel of its group
  for (var l = 0u; l < 4u; l++) {
    let q = divmod(min(c0 + l, p.Cin - 1u), p.Cig, p.invCig);
    yoff[l] = q.x * p.Cog;
    woff[l] = q.y * p.Cout + q.x * p.Cog;
  }
  var acc = vec4<f32>(0.0);
  for (var kh = 0; kh < i32(p.KH); kh++) {
    let ty = px.y + p.padT - kh * p.dh;
    let oh = ty / p.sh;
    if (ty < 0 || oh * p.sh != ty || oh >= p.OH) { continue; }
    for (var kw = 0; kw < i32(p.KW); kw++) {
      let tx = px.z + p.padL - kw * p.dw;
      let ow = tx / p.sw;
      if (tx < 0 || ow * p.sw != tx || ow >= p.OW) { continue; }
      let yb = u32((px.x * p.OH + oh) * p.OW + ow) * p.Cout;
      let wb = u32(kh * i32(p.KW) + kw) * p.Cig * p.Cout;
      for (var j = 0u; j < p.Cog; j++) {
        for (var l = 0u; l < 4u; l++) { acc[l] += a[yb + yoff[l] + j] * b[wb + woff[l] + j]; }
      }
    }
  }
  let ob = item * p.Cin + c0;
  for (var l = 0u; l < 4u; l++) {
    if (c0 + l >= p.Cin) { break; }
    out[ob + l] = acc[l];
  }
}

fn weightGrad(item: u32, c0: u32) {
  // item = chunk * (KH*KW*Cig) + tap * Cig + cig
  let taps = p.KH * p.KW * p.Cig;
  let chunk = item / taps;
  let t = item % taps;
  let cig = t % p.Cig;
  let tap = t / p.Cig;
  let kh = i32(tap / p.KW);
  let kw = i32(tap % p.KW);
  var xoff: vec4<u32>; // per lane: the input channel g*Cig + cig feeding output channel c0 + l
  for (var l = 0u; l < 4u; l++) { xoff[l] = divmod(min(c0 + l, p.Cout - 1u), p.Cog, p.invCog).x * p.Cig + cig; }
  let q0 = chunk * p.chunk;
  let q1 = min(q0 + p.chunk, p.positions);
  // Walk the chunk's output pixels with running (n, oh, ow) counters: one decomposition at the start.
  let start = pixel(q0, u32(p.OH), p.invOH, u32(p.OW), p.invOW);
  var n = start.x;
  var oh = start.y;
  var ow = start.z;
  var acc = vec4<f32>(0.0);
  for (var q = q0; q < q1; q++) {
    let ih = oh * p.sh - p.padT + kh * p.dh;
    let iw = ow * p.sw - p.padL + kw * p.dw;
    if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) {
      let xb = u32((n * p.H + ih) * p.W + iw) * p.Cin;
      let yb = q * p.Cout;
      for (var l = 0u; l < 4u; l++) { acc[l] += a[xb + xoff[l]] * b[yb + min(c0 + l, p.Cout - 1u)]; }
    }
    ow++;
    if (ow == p.OW) { ow = 0; oh++; if (oh == p.OH) { oh = 0; n++; } }
  }
  let ob = (chunk * taps + t) * p.Cout + c0;
  for (var l = 0u; l < 4u; l++) {
    if (c0 + l >= p.Cout) { break; }
    out[ob + l] = acc[l];
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.total) { return; }
  let s = split(i);
  if (MODE == 0u) { forward(s.x, s.y * 4u); } else if (MODE == 1u) { inputGrad(s.x, s.y * 4u); } else { weightGrad(s.x, s.y * 4u); }
}
