// The depth gather of 3-D convolution and pooling (src/kernels/conv3d.ts): out[n, o, p] = x[n, s, p] for
// x [N, Din, P], out [N, Dout, P], where s = (o * mul + add) / div is whole and in [0, Din), else `fill`.
// A depth tap is (stride, tap offset, 1); its adjoint, the gradient, (1, -offset, stride) with fill 0.
struct Params { n: u32, Din: u32, Dout: u32, P: u32, mul: i32, add: i32, div: i32, fill: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let q = i / p.P;
  let o = i32(q % p.Dout);
  let b = q / p.Dout;
  let t = o * p.mul + p.add;
  let s = t / p.div;
  if (t < 0 || t % p.div != 0 || s >= i32(p.Din)) {
    out[i] = p.fill;
  } else {
    out[i] = x[(b * p.Din + u32(s)) * p.P + i % p.P];
  }
}
