// Lab variant 07: variant 05 (8 rows x vec4, B as vec4) with A shared through subgroups: on CPU
// adapters the lanes of a subgroup share the same 8 rows, so instead of every lane gathering all 8
// A values per k, lane l gathers rows l and l + 4 and subgroupBroadcast hands them to the others.
// Needs the 'subgroups' feature and a subgroup size of 4 (SwiftShader). N % 4 == 0.
// The body of the k loop for frame-8xvec4.wgsl (bindings, accumulators and the store live there);
// The COLS and B_LOAD template values say which columns a lane owns and how it loads them (variant
// 08 changes them).
{{COLS}}
  let rA = min(m0 + (sl % 4u), last) * p.K;
  let rB = min(m0 + 4u + (sl % 4u), last) * p.K;
  for (var k = 0u; k < p.K; k++) {
    let bv = {{B_LOAD}};
    let va = a[rA + k];
    let vb = a[rB + k];
    acc0 += subgroupBroadcast(va, 0u) * bv; acc1 += subgroupBroadcast(va, 1u) * bv;
    acc2 += subgroupBroadcast(va, 2u) * bv; acc3 += subgroupBroadcast(va, 3u) * bv;
    acc4 += subgroupBroadcast(vb, 0u) * bv; acc5 += subgroupBroadcast(vb, 1u) * bv;
    acc6 += subgroupBroadcast(vb, 2u) * bv; acc7 += subgroupBroadcast(vb, 3u) * bv;
  }
