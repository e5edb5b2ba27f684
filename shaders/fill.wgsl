// Fill the first n elements of a buffer with one value, given as its bit pattern so that NaN survives
// ({{T}}: u32, or vec4<u32> when the float count is a multiple of 4; n counts {{T}}s).
struct Params { n: u32, bits: u32 }
@group(0) @binding(0) var<storage, read_write> out: array<{{T}}>;
@group(0) @binding(1) var<uniform> p: Params;

// PER elements per invocation, a whole grid apart (see STREAM_PER_INVOCATION in src/gpu/runtime.ts).
override PER: u32 = 4u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = gid.x + gid.y * nwg.x * 256u;
  let grid = nwg.x * nwg.y * 256u;
  for (var j = 0u; j < PER; j++) {
    let i = first + j * grid;
    if (i >= p.n) { return; }
    out[i] = {{T}}(p.bits);
  }
}
