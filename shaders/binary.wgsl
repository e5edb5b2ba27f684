// out = f(a, b) with NumPy broadcasting (strides 0 on broadcast axes); BROADCAST = 0: equal shapes.
alias T = f32;
override BROADCAST: u32 = 1u;
struct Params { n: u32, rank: u32, shape: array<vec4<u32>, 2>, sa: array<vec4<u32>, 2>, sb: array<vec4<u32>, 2> }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn f(a: f32, b: f32) -> f32 { return {{EXPR}}; }

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  if (BROADCAST == 0u) { out[i] = f(a[i], b[i]); return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let q = u32(d) / 4u;
    let r = u32(d) % 4u;
    let c = rem % p.shape[q][r];
    rem = rem / p.shape[q][r];
    ia += c * p.sa[q][r];
    ib += c * p.sb[q][r];
  }
  out[i] = f(a[ia], b[ib]);
}
