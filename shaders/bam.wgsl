// BAM combine, forward: out = x * (1 + sigmoid(a)) over x [N, H, W, C], a = mc[n, c] + ms[n, h, w] (the
// paper) or, PRODUCT, mc[n, c] * ms[n, h, w] (the official code). T is f32, or vec4<f32> (C counts vec4s).
override PRODUCT: bool = false;
struct Params { n: u32, C: u32, HW: u32 }
@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> mc: array<{{T}}>;
@group(0) @binding(2) var<storage, read> ms: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let pix = i / p.C;
  let c = i - pix * p.C;
  let b = pix / p.HW;
  var a = mc[b * p.C + c] + ms[pix];
  if (PRODUCT) { a = mc[b * p.C + c] * ms[pix]; }
  // A NaN gate stays NaN (SwiftShader's exp(NaN) is inf, which would make the gate 0).
  out[i] = x[i] * (1.0 + select(1.0 / (1.0 + exp(-a)), a, !(a == a)));
}
