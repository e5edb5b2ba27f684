// Lab variant 06: 8 rows x vec4 per invocation, k unrolled by 4: A and B both bound as
// array<vec4<f32>>, so each step loads one vec4 of A per row (4 consecutive k) and four vec4 rows of
// B, and does 8 x 4 vec4 FMAs. Needs K % 4 == 0 and N % 4 == 0. Self-contained (plain matmul only).
// The body of the k loop for frame-8xvec4.wgsl (bindings, accumulators and the store live there).
  let n4 = wid.x * 16u + lid.x;
  let N4 = p.N / 4u;
  let K4 = p.K / 4u;
  if (n4 >= N4) { return; }
  let r0 = min(m0, last) * K4; let r1 = min(m0 + 1u, last) * K4;
  let r2 = min(m0 + 2u, last) * K4; let r3 = min(m0 + 3u, last) * K4;
  let r4 = min(m0 + 4u, last) * K4; let r5 = min(m0 + 5u, last) * K4;
  let r6 = min(m0 + 6u, last) * K4; let r7 = min(m0 + 7u, last) * K4;
  for (var k4 = 0u; k4 < K4; k4++) {
    let bi = k4 * 4u * N4 + n4;
    let b0 = b[bi]; let b1 = b[bi + N4]; let b2 = b[bi + 2u * N4]; let b3 = b[bi + 3u * N4];
    var av = a[r0 + k4]; acc0 += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
    av = a[r1 + k4]; acc1 += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
    av = a[r2 + k4]; acc2 += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
    av = a[r3 + k4]; acc3 += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
    av = a[r4 + k4]; acc4 += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
    av = a[r5 + k4]; acc5 += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
    av = a[r6 + k4]; acc6 += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
    av = a[r7 + k4]; acc7 += av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
  }
  let col0 = n4 * 4u;
