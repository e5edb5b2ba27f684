// Softmax cross-entropy, forward: one thread per (short) row of logits z [N, C]: ce = sum_c t_c (lse - z_c),
// weight w = sum_c t_c * classWeight_c (HAS_WEIGHTS) or 1; loss[i] = w * ce, aux[i] = (lse, sum_c t_c, w).
override HAS_WEIGHTS: bool = false;
struct Params { N: u32, C: u32 }
@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read> cw: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> aux: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

// log(sum_c exp(z[base + c])) over a row of C logits, max-subtracted; NaN when a logit is NaN (tracked on
// its own: max() drops NaN, SwiftShader's exp(NaN) is inf).
fn rowLse(base: u32, C: u32) -> f32 {
  var m = z[base];
  var nan = m; // a NaN logit of the row, if there is one
  for (var c = 1u; c < C; c++) {
    let v = z[base + c];
    m = max(m, v);
    nan = select(nan, v, !(v == v));
  }
  var se = 0.0;
  for (var c = 0u; c < C; c++) { se += exp(z[base + c] - m); }
  return select(m + log(se), nan, !(nan == nan));
}

// Not called here: kept so that this kernel's text (which the backbones run) stays as it was.
fn expKeepNaN(v: f32) -> f32 {
  return select(exp(v), v, !(v == v));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.N) { return; }
  let base = i * p.C;
  let lse = rowLse(base, p.C);
  var ce = 0.0;
  var st = 0.0;
  var w = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let tv = t[base + c];
    // Zero targets add nothing (not 0 * inf = NaN for a logit of -inf); NaN targets make the loss NaN
    // (`!=` is false for NaN on Vulkan adapters, so the test is written as !(tv == 0.0)).
    if (!(tv == 0.0)) { ce += tv * (lse - z[base + c]); }
    st += tv;
    if (HAS_WEIGHTS) { w += tv * cw[c]; }
  }
  if (!HAS_WEIGHTS) { w = 1.0; }
  loss[i] = w * ce;
  aux[3u * i] = lse;
  aux[3u * i + 1u] = st;
  aux[3u * i + 2u] = w;
}
