// One fused Adam / AdamW step (Keras formulation, "epsilon hat"; src/optim/optimizers.ts):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//   p -= alpha * m / (sqrt(v) + eps) + decay * p,  alpha = lr sqrt(1 - b2^t) / (1 - b1^t),  decay = lr * wd
// `gscale` multiplies g first (loss scaling, clipping). {{T}} is f32 or vec4<f32> (n counts vec4s then);
// shaders/stream.wgsl runs update(i) over n elements.
struct Params { n: u32, alpha: f32, b1: f32, b2: f32, eps: f32, decay: f32, gscale: f32 }
@group(0) @binding(0) var<storage, read_write> param: array<{{T}}>;
@group(0) @binding(1) var<storage, read> grad: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> m: array<{{T}}>;
@group(0) @binding(3) var<storage, read_write> v: array<{{T}}>;
@group(0) @binding(4) var<uniform> p: Params;

fn update(i: u32) {
  let g = grad[i] * p.gscale;
  let mi = p.b1 * m[i] + (1.0 - p.b1) * g;
  let vi = p.b2 * v[i] + (1.0 - p.b2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let w = param[i];
  param[i] = w - p.alpha * mi / (sqrt(vi) + p.eps) - p.decay * w;
}
