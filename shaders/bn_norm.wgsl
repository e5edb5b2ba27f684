// y = (x - mean[c]) * inv[c] * gamma[c] + beta[c] over x as [M, C]; inv = 1/sqrt(s + eps) (FROM_VAR: s a
// variance) or s. HAS_GAMMA / HAS_BETA = false: Keras's scale=False / center=False. RELU: fused, keeping NaN.
// TABLE: s holds batchNormAffineTable's [scale; shift]. Unused bindings are stand-ins. T: f32 or vec4<f32>.
override RELU: bool = false;
override HAS_GAMMA: bool = true;
override HAS_BETA: bool = true;
override FROM_VAR: bool = false;
override TABLE: bool = false;
// x is read at row * ldx + xOff + c: TABLE may read a channel slice of a concatenation (DenseNet).
struct Params { n: u32, C: u32, eps: f32, ldx: u32, xOff: u32 }
@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> mean: array<{{T}}>;
@group(0) @binding(2) var<storage, read> s: array<{{T}}>;
@group(0) @binding(3) var<storage, read> gamma: array<{{T}}>;
@group(0) @binding(4) var<storage, read> beta: array<{{T}}>;
@group(0) @binding(5) var<storage, read_write> y: array<{{T}}>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let row = i / p.C;
  let c = i - row * p.C;
  let xv = x[row * p.ldx + p.xOff + c];
  var v: {{T}};
  if (TABLE) {
    v = xv * s[c] + s[c + p.C];
  } else {
    var inv = s[c];
    if (FROM_VAR) { inv = inverseSqrt(inv + p.eps); }
    v = (xv - mean[c]) * inv;
    if (HAS_GAMMA) { v *= gamma[c]; }
    if (HAS_BETA) { v += beta[c]; }
  }
  if (RELU) { v = select(v, {{T}}(0.0), v < {{T}}(0.0)); }
  y[i] = v;
}
