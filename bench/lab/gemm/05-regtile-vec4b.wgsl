// Lab variant 05: 8 rows x vec4 per invocation with B bound as array<vec4<f32>> (one 16-byte load
// per k instead of four scalar gathers) and interior tiles free of bounds tests. Needs N % 4 == 0.
// Self-contained (plain matmul only): a probe of what the loaders' generality costs.
// The body of the k loop for frame-8xvec4.wgsl (bindings, accumulators and the store live there).
  let n4 = wid.x * 16u + lid.x; // vec4 column index
  let N4 = p.N / 4u;
  if (n4 >= N4) { return; }
  // Rows past M read row M-1 (clamped) and are not stored.
  let r0 = min(m0, last) * p.K; let r1 = min(m0 + 1u, last) * p.K;
  let r2 = min(m0 + 2u, last) * p.K; let r3 = min(m0 + 3u, last) * p.K;
  let r4 = min(m0 + 4u, last) * p.K; let r5 = min(m0 + 5u, last) * p.K;
  let r6 = min(m0 + 6u, last) * p.K; let r7 = min(m0 + 7u, last) * p.K;
  for (var k = 0u; k < p.K; k++) {
    let bv = b[k * N4 + n4];
    acc0 += a[r0 + k] * bv; acc1 += a[r1 + k] * bv; acc2 += a[r2 + k] * bv; acc3 += a[r3 + k] * bv;
    acc4 += a[r4 + k] * bv; acc5 += a[r5 + k] * bv; acc6 += a[r6 + k] * bv; acc7 += a[r7 + k] * bv;
  }
  let col0 = n4 * 4u;
