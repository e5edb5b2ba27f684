// Lab variant 08: variant 07 with interleaved columns: lane l of a subgroup of 4 owns columns
// cb + l + 4j (j < 4), so each of the four B loads reads 4 consecutive floats across the lanes.
// Lab variant 07's text follows: variant 05 (8 rows x vec4, B as vec4) with A shared through subgroups: on CPU
// adapters the lanes of a subgroup share the same 8 rows, so instead of every lane gathering all 8
// A values per k, lane l gathers rows l and l + 4 and subgroupBroadcast hands them to the others.
// Needs the 'subgroups' feature and a subgroup size of 4 (SwiftShader). N % 4 == 0.
enable subgroups;
struct Params { M: u32, N: u32, K: u32, kPerSplit: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(16, 4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(subgroup_invocation_id) sl: u32) {
  let cb = (wid.x * 16u + (lid.x & ~3u)) * 4u;
  let c0 = cb + (sl % 4u);
  // Columns past N read column N - 1 (never stored).
  let j0 = min(c0, p.N - 1u); let j1 = min(c0 + 4u, p.N - 1u); let j2 = min(c0 + 8u, p.N - 1u); let j3 = min(c0 + 12u, p.N - 1u);
  let m0 = (wid.y * 4u + lid.y) * 8u;
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  var acc4 = vec4<f32>(); var acc5 = vec4<f32>(); var acc6 = vec4<f32>(); var acc7 = vec4<f32>();
  let last = p.M - 1u;
  let rA = min(m0 + (sl % 4u), last) * p.K;
  let rB = min(m0 + 4u + (sl % 4u), last) * p.K;
  for (var k = 0u; k < p.K; k++) {
    let bi = k * p.N;
    let bv = vec4<f32>(b[bi + j0], b[bi + j1], b[bi + j2], b[bi + j3]);
    let va = a[rA + k];
    let vb = a[rB + k];
    acc0 += subgroupBroadcast(va, 0u) * bv; acc1 += subgroupBroadcast(va, 1u) * bv;
    acc2 += subgroupBroadcast(va, 2u) * bv; acc3 += subgroupBroadcast(va, 3u) * bv;
    acc4 += subgroupBroadcast(vb, 0u) * bv; acc5 += subgroupBroadcast(vb, 1u) * bv;
    acc6 += subgroupBroadcast(vb, 2u) * bv; acc7 += subgroupBroadcast(vb, 3u) * bv;
  }
  let accs = array<vec4<f32>, 8>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m < p.M) {
      for (var j = 0u; j < 4u; j++) { if (c0 + 4u * j < p.N) { c[m * p.N + c0 + 4u * j] = accs[r][j]; } }
    }
  }
}
