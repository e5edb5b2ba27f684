// One fused Adam / AdamW step for a parameter tensor (Keras formulation, "epsilon hat"):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= alpha * m / (sqrt(v) + eps) + decay * p,  alpha = lr sqrt(1 - b2^t) / (1 - b1^t),  decay = lr * wd
// alpha and decay are computed on the CPU per step. `gscale` multiplies g first (loss scaling, clipping).
// {{T}} is vec4<f32> when the tensor's size is a multiple of 4 (n counts vec4s then): a quarter of
// the loads and bounds checks, which dominate this memory-bound step on CPU adapters.
struct Params { n: u32, alpha: f32, b1: f32, b2: f32, eps: f32, decay: f32, gscale: f32 }
@group(0) @binding(0) var<storage, read_write> param: array<{{T}}>;
@group(0) @binding(1) var<storage, read> grad: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> m: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> v: array<{{T}}>;
@group(0) @binding(4) var<uniform> p: Params;

// Element i (shaders/stream.wgsl runs it over n elements).
fn update(i: u32) {
  let g = grad[i] * p.gscale;
  let mi = p.b1 * m[i] + (1.0 - p.b1) * g;
  let vi = p.b2 * v[i] + (1.0 - p.b2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let w = param[i];
  param[i] = w - p.alpha * mi / (sqrt(vi) + p.eps) - p.decay * w;
}
