// One fused SGD step with momentum (PyTorch formulation): buf = mu buf + g (+ wd p);
// p -= lr (nesterov ? g + mu buf : buf). {{T}} is f32 or vec4<f32>, as in adam.wgsl.
struct Params { n: u32, lr: f32, mu: f32, wd: f32, nesterov: u32, gscale: f32 }
@group(0) @binding(0) var<storage, read_write> param: array<{{T}}>;
@group(0) @binding(1) var<storage, read> grad: array<{{T}}>;
@group(0) @binding(2) var<storage, read_write> buf: array<{{T}}>;
@group(0) @binding(3) var<uniform> p: Params;

fn update(i: u32) {
  let w = param[i];
  let g = grad[i] * p.gscale + p.wd * w;
  let b = p.mu * buf[i] + g;
  buf[i] = b;
  var step = b;
  if (p.nesterov == 1u) { step = g + p.mu * b; }
  param[i] = w - p.lr * step;
}
