// Depthwise convolution (one KHxKW filter per channel), forward and both gradients, chosen by MODE.
// {{T}} is f32, or vec4<f32> over 4 adjacent channels (then CV = C / 4 counts vec4s). Shapes are
// uniforms. Consecutive invocations take consecutive channel vectors of one block (contiguous SIMD
// loads); each computes a block of outputs that share loads:
//   0 forward: y[b, oh, ow, c] = bias[c] + sum_{kh, kw} x[b, oh*sh - padT + kh*dilH, ow*sw - padL + kw*dilW, c]
//              * w[kh, kw, c]; a block is R consecutive ow of one output row (R1 = 8 on the stride-1
//              window path), generated into FORWARD.
//   1 input gradient: dx[b, ih, iw, c] = sum dY[b, oh, ow, c] * w[kh, kw, c] over the taps with
//              oh*sh = ih + padT - kh*dilH and ow*sw = iw + padL - kw*dilW; a block is R columns of one
//              stride phase px (iw = px + sw*(m0 + j)), which share their taps (R1 on the window path,
//              generated into DX_WINDOW).
//   2 weight gradient: partial[chunk, kh, kw, c] = sum over the chunk's output pixels of x * dY; a block
//              is a kernel row walking whole output rows (window path, weightGradRows) or R taps.
// Window paths (`win` > 0: dilation 1, at most 5 taps a row or stride phase) load each input of a block's
// row once into registers. Bindings: a = x (modes 0, 2) or dY (1); b = w (0, 1) or dY (2). Invocation
// i = ((n*rows + row)*blocks + block)*CV + cv, with rows = OH (0), H (1), or 1 and n = chunk (2).
override MODE: u32 = 0u;
const R: i32 = 4;
struct Params {
  total: u32, CV: u32, blocks: u32, rows: u32, MB: u32,
  H: i32, W: i32, OH: i32, OW: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, dilH: i32, dilW: i32, padT: i32, padL: i32,
  hasBias: u32, taps: i32, positions: u32, chunk: u32, win: i32,
  invCV: f32, invBlocks: f32, invRows: f32, invMB: f32,
}
@group(0) @binding(0) var<storage, read> a: array<{{T}}>;
@group(0) @binding(1) var<storage, read> b: array<{{T}}>;
@group(0) @binding(2) var<storage, read> bias: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(4) var<uniform> p: Params;

// a[(rowBase + col)*CV + cv], or zero where col is outside [0, limit) (the index is clamped, the value
// dropped: no branch, no out-of-bounds read).
fn aAt(rowBase: i32, col: i32, limit: i32, cv: u32) -> {{T}} {
  let v = a[u32(rowBase + clamp(col, 0, limit - 1)) * p.CV + cv];
  return select({{T}}(0.0), v, col >= 0 && col < limit);
}
// x[n, ih, iw, cv] for the weight gradient, zero in the padding.
fn xAt(n: i32, ih: i32, iw: i32, cv: u32) -> {{T}} {
  let inside = ih >= 0 && ih < p.H && iw >= 0 && iw < p.W;
  let v = a[u32((n * p.H + clamp(ih, 0, p.H - 1)) * p.W + clamp(iw, 0, p.W - 1)) * p.CV + cv];
  return select({{T}}(0.0), v, inside);
}
// Stores the first `count` (<= R; none when count <= 0) of a block's four values, `step` elements apart.
fn store(base: u32, step: u32, count: i32, v0: {{T}}, v1: {{T}}, v2: {{T}}, v3: {{T}}) {
  if (count > 0) { out[base] = v0; }
  if (count > 1) { out[base + step] = v1; }
  if (count > 2) { out[base + 2u * step] = v2; }
  if (count > 3) { out[base + 3u * step] = v3; }
}

{{FORWARD}}

fn inputGrad(n: i32, ih: i32, blk: i32, cv: u32) {
  let q = divmod(u32(blk), p.MB, p.invMB); // (stride phase px, block of the phase)
  let px = i32(q.x);
  let m0 = i32(q.y) * R;
  var a0 = {{T}}(0.0);
  var a1 = a0;
  var a2 = a0;
  var a3 = a0;
  for (var kh = 0; kh < p.KH; kh++) {
    let ty = ih + p.padT - kh * p.dilH;
    let oh = ty / p.sh;
    if (ty < 0 || oh * p.sh != ty || oh >= p.OH) { continue; }
    let rowBase = (n * p.OH + oh) * p.OW;
    for (var kw = 0; kw < p.KW; kw++) {
      // The tap reaches this phase iff sw divides tx (truncating division is exact then, whatever the sign).
      let tx = px + p.padL - kw * p.dilW;
      let o = tx / p.sw;
      if (o * p.sw != tx) { continue; }
      let ow = o + m0;
      let wv = b[u32(kh * p.KW + kw) * p.CV + cv];
      a0 += aAt(rowBase, ow, p.OW, cv) * wv;
      a1 += aAt(rowBase, ow + 1, p.OW, cv) * wv;
      a2 += aAt(rowBase, ow + 2, p.OW, cv) * wv;
      a3 += aAt(rowBase, ow + 3, p.OW, cv) * wv;
    }
  }
  let iw0 = px + p.sw * m0;
  let count = (p.W - iw0 + p.sw - 1) / p.sw; // columns of the phase left from iw0
  store(u32((n * p.H + ih) * p.W + iw0) * p.CV + cv, u32(p.sw) * p.CV, min(R, count), a0, a1, a2, a3);
}

{{DX_WINDOW}}

fn weightGrad(chunk: u32, blk: i32, cv: u32) {
  // The block's taps t0 + j (clamped to the last tap; lanes past it compute a duplicate, never stored).
  let t0 = blk * R;
  let t1 = min(t0 + 1, p.taps - 1);
  let t2 = min(t0 + 2, p.taps - 1);
  let t3 = min(t0 + 3, p.taps - 1);
  // Each tap's offset from (oh*sh, ow*sw) to the input pixel it reads.
  let dh = vec4<i32>(t0 / p.KW, t1 / p.KW, t2 / p.KW, t3 / p.KW) * p.dilH - vec4<i32>(p.padT);
  let dw = vec4<i32>(t0 % p.KW, t1 % p.KW, t2 % p.KW, t3 % p.KW) * p.dilW - vec4<i32>(p.padL);
  let q0 = chunk * p.chunk;
  let q1 = min(q0 + p.chunk, p.positions);
  // Walk the chunk's output pixels with running (n, oh, ow) counters: one decomposition at the start.
  let ow1 = q0 % u32(p.OW);
  let rest = q0 / u32(p.OW);
  var ow = i32(ow1);
  var oh = i32(rest % u32(p.OH));
  var n = i32(rest / u32(p.OH));
  var a0 = {{T}}(0.0);
  var a1 = a0;
  var a2 = a0;
  var a3 = a0;
  for (var q = q0; q < q1; q++) {
    let g = b[q * p.CV + cv];
    let ih = oh * p.sh;
    let iw = ow * p.sw;
    a0 += xAt(n, ih + dh.x, iw + dw.x, cv) * g;
    a1 += xAt(n, ih + dh.y, iw + dw.y, cv) * g;
    a2 += xAt(n, ih + dh.z, iw + dw.z, cv) * g;
    a3 += xAt(n, ih + dh.w, iw + dw.w, cv) * g;
    ow++;
    if (ow == p.OW) { ow = 0; oh++; if (oh == p.OH) { oh = 0; n++; } }
  }
  store((chunk * u32(p.taps) + u32(t0)) * p.CV + cv, p.CV, min(R, p.taps - t0), a0, a1, a2, a3);
}

// The weight gradient's window path (strides 1 and 2): an invocation owns kernel row kh and walks whole
// output rows r = n*OH + oh of its chunk, keeping the row's five taps' inputs in registers, shifted by the
// stride from one output pixel to the next.
fn weightGradRows(chunk: u32, kh: i32, cv: u32) {
  let r0 = i32(chunk * p.chunk);
  let r1 = min(r0 + i32(p.chunk), i32(p.positions));
  var a0 = {{T}}(0.0);
  var a1 = a0;
  var a2 = a0;
  var a3 = a0;
  var a4 = a0;
  for (var r = r0; r < r1; r++) {
    let ih = (r % p.OH) * p.sh - p.padT + kh * p.dilH;
    if (ih < 0 || ih >= p.H) { continue; }
    let rowBase = (r / p.OH * p.H + ih) * p.W;
    var dyAt = u32(r * p.OW) * p.CV + cv;
    var x0 = aAt(rowBase, -p.padL, p.W, cv);
    var x1 = aAt(rowBase, 1 - p.padL, p.W, cv);
    var x2 = aAt(rowBase, 2 - p.padL, p.W, cv);
    var x3 = aAt(rowBase, 3 - p.padL, p.W, cv);
    var x4 = aAt(rowBase, 4 - p.padL, p.W, cv);
    var col = 5 - p.padL; // the next input column to load
    for (var ow = 0; ow < p.OW; ow++) {
      let g = b[dyAt];
      dyAt += p.CV;
      a0 += x0 * g;
      if (p.KW > 1) { a1 += x1 * g; }
      if (p.KW > 2) { a2 += x2 * g; }
      if (p.KW > 3) { a3 += x3 * g; }
      if (p.KW > 4) { a4 += x4 * g; }
      if (p.win == 1) {
        x0 = x1; x1 = x2; x2 = x3; x3 = x4;
        x4 = aAt(rowBase, col, p.W, cv);
        col += 1;
      } else {
        x0 = x2; x1 = x3; x2 = x4;
        x3 = aAt(rowBase, col, p.W, cv);
        x4 = aAt(rowBase, col + 1, p.W, cv);
        col += 2;
      }
    }
  }
  let base = (chunk * u32(p.KH) + u32(kh)) * u32(p.KW) * p.CV + cv;
  out[base] = a0;
  if (p.KW > 1) { out[base + p.CV] = a1; }
  if (p.KW > 2) { out[base + 2u * p.CV] = a2; }
  if (p.KW > 3) { out[base + 3u * p.CV] = a3; }
  if (p.KW > 4) { out[base + 4u * p.CV] = a4; }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.total) { return; }
  let q0 = divmod(i, p.CV, p.invCV); // (block index, channel vector)
  let q1 = divmod(q0.x, p.blocks, p.invBlocks); // (n*rows + row, block)
  let q2 = divmod(q1.x, p.rows, p.invRows); // (n, row)
  if (MODE == 0u) {
    if (p.win == 1) { forwardWindow1(i32(q2.x), i32(q2.y), i32(q1.y), q0.y); }
    else { forward(i32(q2.x), i32(q2.y), i32(q1.y), q0.y); }
  }
  else if (MODE == 1u) {
    if (p.win == 1) { inputGradWindow(i32(q2.x), i32(q2.y), i32(q1.y), q0.y); }
    else { inputGrad(i32(q2.x), i32(q2.y), i32(q1.y), q0.y); }
  }
  else if (p.win > 0) { weightGradRows(q2.x, i32(q1.y), q0.y); }
  else { weightGrad(q2.x, i32(q1.y), q0.y); }
}
