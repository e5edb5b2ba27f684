// BAM combine, backward (elementwise part), s = sigmoid(a), da = g * x * s * (1 - s): dx = g * (1 + s),
// u = da * (PRODUCT ? ms : 1) (summed over H, W: dmc), v = da * (PRODUCT ? mc : 1) (summed over C: dms; in
// sum mode u = v and v is not written). T is f32, or vec4<f32> (C counts vec4s).
override PRODUCT: bool = false;
struct Params { n: u32, C: u32, HW: u32 }
@group(0) @binding(0) var<storage, read> x: array<{{T}}>;
@group(0) @binding(1) var<storage, read> mc: array<{{T}}>;
@group(0) @binding(2) var<storage, read> ms: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<{{T}}>;
@group(0) @binding(4) var<storage, read_write> dx: array<{{T}}>;
@group(0) @binding(5) var<storage, read_write> u: array<{{T}}>;
@group(0) @binding(6) var<storage, read_write> v: array<{{T}}>;
@group(0) @binding(7) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let pix = i / p.C;
  let c = i - pix * p.C;
  let b = pix / p.HW;
  let cv = mc[b * p.C + c];
  let sv = ms[pix];
  var a = cv + sv;
  if (PRODUCT) { a = cv * sv; }
  let s = 1.0 / (1.0 + exp(-a));
  let gv = g[i];
  dx[i] = gv * (1.0 + s);
  let da = gv * x[i] * s * (1.0 - s);
  if (PRODUCT) {
    u[i] = da * sv;
    v[i] = da * cv;
  } else {
    u[i] = da;
  }
}
