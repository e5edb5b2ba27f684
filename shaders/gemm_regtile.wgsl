// GEMM core, register-tiled with no workgroup memory (CPU adapters, where barriers are slow): each
// invocation accumulates TM rows x 4 (or 8) columns of C over this split's k range, with the op's
// loaders (src/kernels/gemm.ts checkLoaders). gemm.ts unrolls the per-row statements ({{ROWS_*}}) into
// variables (SwiftShader keeps an indexed array in memory) and, in the subgroup form, shares A's rows
// across a subgroup with subgroupBroadcast (bench/LAB.md #12).
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
