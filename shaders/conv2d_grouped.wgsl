// Grouped and depthwise convolution, direct: one invocation per output element, forward and both
// gradients from this one source, chosen by the MODE override:
//   0 forward:         out[b, oh, ow, co] = bias[co] + sum_{kh, kw, j < Cig} x[b, ih, iw, g*Cig + j] * w[kh, kw, j, co]
//                      with g = co / Cog, ih = oh*sh - padT + kh*dh, iw = ow*sw - padL + kw*dw (zero outside).
//   1 input gradient:  dx[b, ih, iw, ci] = sum_{kh, kw, j < Cog} dY[b, oh, ow, g*Cog + j] * w[kh, kw, ci % Cig, g*Cog + j]
//                      with g = ci / Cig, over taps where oh*sh = ih + padT - kh*dh (a non-negative multiple
//                      of the stride, oh < OH), likewise for columns.
//   2 weight gradient: partial[chunk, kh, kw, j, co] = sum over output pixels q = (b, oh, ow) of this chunk of
//                      x[b, ih, iw, g*Cig + j] * dY[q, co]; the launch code sums the chunks.
// Groups: G groups, Cig = Cin / G inputs and Cog = Cout / G outputs each; weights HWIO [KH, KW, Cig, Cout].
// Depthwise is G = Cin (Cig = 1). Bindings: a = x (modes 0, 2) or dY (1); b = w (0, 1) or dY (2).
override MODE: u32 = 0u;
struct Params {
  total: u32, H: i32, W: i32, Cin: u32, OH: i32, OW: i32, Cout: u32, KH: u32, KW: u32,
  sh: i32, sw: i32, dh: i32, dw: i32, padT: i32, padL: i32, Cig: u32, Cog: u32, hasBias: u32,
  positions: u32, chunk: u32,
}
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn forward(i: u32) -> f32 {
  let co = i % p.Cout;
  let pix = i32(i / p.Cout);
  let ow = pix % p.OW;
  let oh = (pix / p.OW) % p.OH;
  let n = pix / (p.OW * p.OH);
  let g = co / p.Cog;
  var acc = 0.0;
  if (p.hasBias == 1u) { acc = bias[co]; }
  for (var kh = 0; kh < i32(p.KH); kh++) {
    let ih = oh * p.sh - p.padT + kh * p.dh;
    if (ih < 0 || ih >= p.H) { continue; }
    for (var kw = 0; kw < i32(p.KW); kw++) {
      let iw = ow * p.sw - p.padL + kw * p.dw;
      if (iw < 0 || iw >= p.W) { continue; }
      let xb = u32((n * p.H + ih) * p.W + iw) * p.Cin + g * p.Cig;
      let wb = u32(kh * i32(p.KW) + kw) * p.Cig * p.Cout + co;
      for (var j = 0u; j < p.Cig; j++) { acc += a[xb + j] * b[wb + j * p.Cout]; }
    }
  }
  return acc;
}

fn inputGrad(i: u32) -> f32 {
  let ci = i % p.Cin;
  let pix = i32(i / p.Cin);
  let iw = pix % p.W;
  let ih = (pix / p.W) % p.H;
  let n = pix / (p.W * p.H);
  let g = ci / p.Cig;
  let cig = ci % p.Cig;
  var acc = 0.0;
  for (var kh = 0; kh < i32(p.KH); kh++) {
    let ty = ih + p.padT - kh * p.dh;
    let oh = ty / p.sh;
    if (ty < 0 || oh * p.sh != ty || oh >= p.OH) { continue; }
    for (var kw = 0; kw < i32(p.KW); kw++) {
      let tx = iw + p.padL - kw * p.dw;
      let ow = tx / p.sw;
      if (tx < 0 || ow * p.sw != tx || ow >= p.OW) { continue; }
      let yb = u32((n * p.OH + oh) * p.OW + ow) * p.Cout + g * p.Cog;
      let wb = (u32(kh * i32(p.KW) + kw) * p.Cig + cig) * p.Cout + g * p.Cog;
      for (var j = 0u; j < p.Cog; j++) { acc += a[yb + j] * b[wb + j]; }
    }
  }
  return acc;
}

fn weightGrad(i: u32) -> f32 {
  let ws = p.KH * p.KW * p.Cig * p.Cout;
  let o = i % ws;
  let chunk = i / ws;
  let co = o % p.Cout;
  let cig = (o / p.Cout) % p.Cig;
  let tap = o / (p.Cout * p.Cig);
  let kw = i32(tap % p.KW);
  let kh = i32(tap / p.KW);
  let ci = (co / p.Cog) * p.Cig + cig;
  let q0 = chunk * p.chunk;
  let q1 = min(q0 + p.chunk, p.positions);
  // Walk the chunk's output pixels with running (n, oh, ow) counters: one division at the start.
  var ow = i32(q0) % p.OW;
  var oh = (i32(q0) / p.OW) % p.OH;
  var n = i32(q0) / (p.OW * p.OH);
  var acc = 0.0;
  for (var q = q0; q < q1; q++) {
    let ih = oh * p.sh - p.padT + kh * p.dh;
    let iw = ow * p.sw - p.padL + kw * p.dw;
    if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) {
      acc += a[u32((n * p.H + ih) * p.W + iw) * p.Cin + ci] * b[q * p.Cout + co];
    }
    ow++;
    if (ow == p.OW) { ow = 0; oh++; if (oh == p.OH) { oh = 0; n++; } }
  }
  return acc;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.total) { return; }
  if (MODE == 0u) { out[i] = forward(i); } else if (MODE == 1u) { out[i] = inputGrad(i); } else { out[i] = weightGrad(i); }
}
