// The entry point of the streaming kernels (fill, optimizer updates): BODY declares Params with n and
// update(i); each invocation runs PER elements a grid apart (coalesced; src/gpu/runtime.ts).
{{BODY}}
override PER: u32 = 4u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let first = gid.x + gid.y * nwg.x * 256u;
  let grid = nwg.x * nwg.y * 256u;
  for (var j = 0u; j < PER; j++) {
    let i = first + j * grid;
    if (i >= p.n) { return; }
    update(i);
  }
}
