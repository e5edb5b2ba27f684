// Grouped convolution, direct, forward and both gradients, chosen by MODE. Each invocation computes one
// pixel (or weight tap) for a quad of 4 consecutive channels of its output (shared index math; for
// depthwise convolution, contiguous loads across the quad). Groups: Cig = Cin / G inputs and Cog = Cout / G
// outputs each; weights HWIO [KH, KW, Cig, Cout].
//   0 forward:        out[b, oh, ow, co] = bias[co] + sum_{kh,kw,j<Cig} x[b, ih, iw, g*Cig + j] * w[kh, kw, j, co]
//                     with g = co / Cog, ih = oh*sh - padT + kh*dilH, iw = ow*sw - padL + kw*dilW (zero outside).
//   1 input gradient: dx[b, ih, iw, ci] = sum_{kh,kw,j<Cog} dY[b, oh, ow, g*Cog + j] * w[kh, kw, ci % Cig, g*Cog + j]
//                     with g = ci / Cig, over the taps where oh*sh = ih + padT - kh*dilH (likewise columns).
//   2 weight gradient: partial[chunk, kh, kw, j, co] = sum over the chunk's output pixels of
//                     x[b, ih, iw, g*Cig + j] * dY[q, co]; the launch code sums the chunks.
// Bindings: a = x (modes 0, 2) or dY (1); b = w (0, 1) or dY (2). `total` counts invocations.
override MODE: u32 = 0u;
struct Params {
  total: u32, quads: u32, H: i32, W: i32, Cin: u32, OH: i32, OW: i32, Cout: u32, KH: u32, KW: u32,
  sh: i32, sw: i32, dilH: i32, dilW: i32, padT: i32, padL: i32, Cig: u32, Cog: u32, hasBias: u32,
  positions: u32, chunk: u32,
  invH: f32, invW: f32, invOH: f32, invOW: f32,
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
// The quad's 4 channels, clamped to the last one (lanes past it compute a duplicate, never stored).
fn lanes(c0: u32, count: u32) -> vec4<u32> {
  return min(vec4<u32>(c0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(count - 1u));
}
// Gathers of 4 values at base + offsets (written out: no dynamic vector indexing, which some
// compilers lower to private memory).
fn gatherA(base: u32, o: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(a[base + o.x], a[base + o.y], a[base + o.z], a[base + o.w]);
}
fn gatherB(base: u32, o: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(b[base + o.x], b[base + o.y], b[base + o.z], b[base + o.w]);
}
fn store4(base: u32, c0: u32, count: u32, v: vec4<f32>) {
  out[base] = v.x;
  if (c0 + 1u < count) { out[base + 1u] = v.y; }
  if (c0 + 2u < count) { out[base + 2u] = v.z; }
  if (c0 + 3u < count) { out[base + 3u] = v.w; }
}

fn forward(item: u32, c0: u32) {
  let px = pixel(item, u32(p.OH), p.invOH, u32(p.OW), p.invOW);
  let co = lanes(c0, p.Cout);
  let xoff = co / p.Cog * p.Cig; // first input channel of each lane's group (once per invocation: a true division)
  var acc = vec4<f32>(0.0);
  if (p.hasBias == 1u) { acc = vec4<f32>(bias[co.x], bias[co.y], bias[co.z], bias[co.w]); }
  for (var kh = 0; kh < i32(p.KH); kh++) {
    let ih = px.y * p.sh - p.padT + kh * p.dilH;
    if (ih < 0 || ih >= p.H) { continue; }
    for (var kw = 0; kw < i32(p.KW); kw++) {
      let iw = px.z * p.sw - p.padL + kw * p.dilW;
      if (iw < 0 || iw >= p.W) { continue; }
      let xb = u32((px.x * p.H + ih) * p.W + iw) * p.Cin;
      let wb = u32(kh * i32(p.KW) + kw) * p.Cig * p.Cout;
      for (var j = 0u; j < p.Cig; j++) { acc += gatherA(xb + j, xoff) * gatherB(wb + j * p.Cout, co); }
    }
  }
  store4(item * p.Cout + c0, c0, p.Cout, acc);
}

fn inputGrad(item: u32, c0: u32) {
  let px = pixel(item, u32(p.H), p.invH, u32(p.W), p.invW);
  let ci = lanes(c0, p.Cin);
  let yoff = ci / p.Cig * p.Cog; // first output channel of each lane's group
  let woff = ci % p.Cig * p.Cout + yoff;
  var acc = vec4<f32>(0.0);
  for (var kh = 0; kh < i32(p.KH); kh++) {
    let ty = px.y + p.padT - kh * p.dilH;
    let oh = ty / p.sh;
    if (ty < 0 || oh * p.sh != ty || oh >= p.OH) { continue; }
    for (var kw = 0; kw < i32(p.KW); kw++) {
      let tx = px.z + p.padL - kw * p.dilW;
      let ow = tx / p.sw;
      if (tx < 0 || ow * p.sw != tx || ow >= p.OW) { continue; }
      let yb = u32((px.x * p.OH + oh) * p.OW + ow) * p.Cout;
      let wb = u32(kh * i32(p.KW) + kw) * p.Cig * p.Cout;
      for (var j = 0u; j < p.Cog; j++) { acc += gatherA(yb + j, yoff) * gatherB(wb + j, woff); }
    }
  }
  store4(item * p.Cin + c0, c0, p.Cin, acc);
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
  let co = lanes(c0, p.Cout);
  let xoff = co / p.Cog * p.Cig + cig; // input channel feeding each lane
  let q0 = chunk * p.chunk;
  let q1 = min(q0 + p.chunk, p.positions);
  // Walk the chunk's output pixels with running (n, oh, ow) counters: one decomposition at the start.
  let start = pixel(q0, u32(p.OH), p.invOH, u32(p.OW), p.invOW);
  var n = start.x;
  var oh = start.y;
  var ow = start.z;
  var acc = vec4<f32>(0.0);
  for (var q = q0; q < q1; q++) {
    let ih = oh * p.sh - p.padT + kh * p.dilH;
    let iw = ow * p.sw - p.padL + kw * p.dilW;
    if (ih >= 0 && ih < p.H && iw >= 0 && iw < p.W) {
      acc += gatherA(u32((n * p.H + ih) * p.W + iw) * p.Cin, xoff) * gatherB(q * p.Cout, co);
    }
    ow++;
    if (ow == p.OW) { ow = 0; oh++; if (oh == p.OH) { oh = 0; n++; } }
  }
  store4((chunk * taps + t) * p.Cout + c0, c0, p.Cout, acc);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.total) { return; }
  let s = split(i);
  if (MODE == 0u) { forward(s.x, s.y * 4u); }
  else if (MODE == 1u) { inputGrad(s.x, s.y * 4u); }
  else { weightGrad(s.x, s.y * 4u); }
}
