// Batch-norm backward, pass 2: one thread per channel sums the chunks: sg = dbeta, sgx = dgamma.
struct Params { C: u32, nchunks: u32 }
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> sg: array<f32>;
@group(0) @binding(2) var<storage, read_write> sgx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var a = 0.0;
  var b = 0.0;
  for (var k = 0u; k < p.nchunks; k++) {
    a += part[2u * k * p.C + c];
    b += part[(2u * k + 1u) * p.C + c];
  }
  sg[c] = a;
  sgx[c] = b;
}
