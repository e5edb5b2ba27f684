// Inference batch norm as a per-channel affine map for a GEMM epilogue, table = [scale(C), shift(C)]:
//   scale = gamma / sqrt(movingVar + eps),  shift = beta + (bias - movingMean) * scale
// with the preceding convolution's bias folded in. has* = 0 (stand-in bindings) are uniforms, not
// override constants: one pipeline for every batch norm.
struct Params { C: u32, eps: f32, hasGamma: u32, hasBeta: u32, hasBias: u32 }
@group(0) @binding(0) var<storage, read> mean: array<f32>;
@group(0) @binding(1) var<storage, read> variance: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> table: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var s = inverseSqrt(variance[c] + p.eps);
  if (p.hasGamma == 1u) { s *= gamma[c]; }
  var t = -mean[c];
  if (p.hasBias == 1u) { t += bias[c]; }
  t *= s;
  if (p.hasBeta == 1u) { t += beta[c]; }
  table[c] = s;
  table[p.C + c] = t;
}
