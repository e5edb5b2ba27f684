// The frame shared by the self-contained lab variants 05-08 (plain matmul C = A B, split-k 1): the
// bindings, a 16x4 workgroup whose invocations each accumulate 8 rows x 4 columns, and the store.
// A variant supplies the body: it defines the invocation's columns (the COL template value gives
// column j) and runs the k loop into acc0..acc7. Rows past M are loaded clamped (`last`), never stored.
{{ENABLE}}
struct Params { M: u32, N: u32, K: u32, kPerSplit: u32 }
@group(0) @binding(0) var<storage, read> a: array<{{A_TYPE}}>;
@group(0) @binding(1) var<storage, read> b: array<{{B_TYPE}}>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(16, 4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>{{SG_ARG}}) {
  let m0 = (wid.y * 4u + lid.y) * 8u;
  let last = p.M - 1u;
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  var acc4 = vec4<f32>(); var acc5 = vec4<f32>(); var acc6 = vec4<f32>(); var acc7 = vec4<f32>();
{{BODY}}
  let accs = array<vec4<f32>, 8>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m < p.M) {
      for (var j = 0u; j < 4u; j++) {
        let n = {{COL}};
        if (n < p.N) { c[m * p.N + n] = accs[r][j]; }
      }
    }
  }
}
