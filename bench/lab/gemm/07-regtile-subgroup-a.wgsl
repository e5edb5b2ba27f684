// Lab variant 07: variant 05 (8 rows x vec4, B as vec4) with A shared through subgroups: on CPU
// adapters the lanes of a subgroup share the same 8 rows, so instead of every lane gathering all 8
// A values per k, lane l gathers rows l and l + 4 and subgroupBroadcast hands them to the others.
// Needs the 'subgroups' feature and a subgroup size of 4 (SwiftShader). N % 4 == 0.
enable subgroups;
struct Params { M: u32, N: u32, K: u32, kPerSplit: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(16, 4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let n4 = min(wid.x * 16u + lid.x, p.N / 4u - 1u);
  let m0 = (wid.y * 4u + lid.y) * 8u;
  let N4 = p.N / 4u;
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  var acc4 = vec4<f32>(); var acc5 = vec4<f32>(); var acc6 = vec4<f32>(); var acc7 = vec4<f32>();
  let last = p.M - 1u;
  let rA = min(m0 + (sl % 4u), last) * p.K;
  let rB = min(m0 + 4u + (sl % 4u), last) * p.K;
  for (var k = 0u; k < p.K; k++) {
    let bv = b[k * N4 + n4];
    let va = a[rA + k];
    let vb = a[rB + k];
    acc0 += subgroupBroadcast(va, 0u) * bv; acc1 += subgroupBroadcast(va, 1u) * bv;
    acc2 += subgroupBroadcast(va, 2u) * bv; acc3 += subgroupBroadcast(va, 3u) * bv;
    acc4 += subgroupBroadcast(vb, 0u) * bv; acc5 += subgroupBroadcast(vb, 1u) * bv;
    acc6 += subgroupBroadcast(vb, 2u) * bv; acc7 += subgroupBroadcast(vb, 3u) * bv;
  }
  if (wid.x * 16u + lid.x >= N4) { return; }
  let accs = array<vec4<f32>, 8>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m < p.M) {
      let o = m * p.N + n4 * 4u;
      c[o] = accs[r].x; c[o + 1u] = accs[r].y; c[o + 2u] = accs[r].z; c[o + 3u] = accs[r].w;
    }
  }
}
