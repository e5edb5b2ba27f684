// GEMM core, register-tiled with no workgroup memory: each invocation accumulates TM rows x 4 columns.
// C[m, n] = sum_k A[m, k] * B[k, n] over this split's k range. The loaders (aRow, aK, loadA, loadB,
// loadB4 (four columns from n, n a multiple of 4), storeC and the Params struct with M, N, K, kPerSplit) come
// from the op: matmul, conv forward, conv data gradient, conv weight gradient. This variant suits CPU
// adapters, where barriers are slow. The per-row statements ({{ROWS_*}}) are unrolled by src/kernels/gemm.ts
// into scalar variables: SwiftShader keeps a dynamically indexed `array<vec4<f32>, TM>` in memory, not in
// registers. The subgroup form (CPU adapters that grant 'subgroups'): the lanes of a subgroup lie in one row
// of the workgroup and so share their TM rows; instead of every lane gathering all TM values of A per k, lane
// l gathers rows l, l + G, ... and subgroupBroadcast hands each value to the others (bench/LAB.md #12). The k
// loop steps by 1, or by 4 where the op allows it (K % 4 == 0 and loaders with aKStep, which derives aK(k +
// j) from aK(k) for j < 4 without redoing its index decomposition).
{{ENABLE}}
override WG_X: u32 = 16u;
override WG_Y: u32 = 4u;
const TM: u32 = {{TM}}u;

{{LOADERS}}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>{{SG_ARG}}) {
  let n0 = (wid.x * WG_X + lid.x) * 4u;
  let m0 = (wid.y * WG_Y + lid.y) * TM;
  let kBeg = wid.z * p.kPerSplit;
  let kEnd = min(kBeg + p.kPerSplit, p.K);
{{ROWS_DECL}}
{{K_LOOP}}
{{ROWS_STORE}}
}

// Store one row of 4 accumulated columns.
fn storeRow(m: u32, n0: u32, z: u32, v: vec4<f32>) {
  if (m >= p.M) { return; }
  for (var c = 0u; c < 4u; c++) {
    if (n0 + c < p.N) { storeC(m, n0 + c, z, v[c]); }
  }
}
