// Lab variant 05: 8 rows x vec4 per invocation with B bound as array<vec4<f32>> (one 16-byte load
// per k instead of four scalar gathers) and interior tiles free of bounds tests. Needs N % 4 == 0.
// Self-contained (plain matmul only): a probe of what the loaders' generality costs.
struct Params { M: u32, N: u32, K: u32, kPerSplit: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(16, 4)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let n4 = wid.x * 16u + lid.x; // vec4 column index
  let m0 = (wid.y * 4u + lid.y) * 8u;
  let N4 = p.N / 4u;
  if (n4 >= N4) { return; }
  var acc0 = vec4<f32>(); var acc1 = vec4<f32>(); var acc2 = vec4<f32>(); var acc3 = vec4<f32>();
  var acc4 = vec4<f32>(); var acc5 = vec4<f32>(); var acc6 = vec4<f32>(); var acc7 = vec4<f32>();
  // Rows past M read row M-1 (clamped) and are not stored.
  let last = p.M - 1u;
  let r0 = min(m0, last) * p.K; let r1 = min(m0 + 1u, last) * p.K; let r2 = min(m0 + 2u, last) * p.K; let r3 = min(m0 + 3u, last) * p.K;
  let r4 = min(m0 + 4u, last) * p.K; let r5 = min(m0 + 5u, last) * p.K; let r6 = min(m0 + 6u, last) * p.K; let r7 = min(m0 + 7u, last) * p.K;
  for (var k = 0u; k < p.K; k++) {
    let bv = b[k * N4 + n4];
    acc0 += a[r0 + k] * bv; acc1 += a[r1 + k] * bv; acc2 += a[r2 + k] * bv; acc3 += a[r3 + k] * bv;
    acc4 += a[r4 + k] * bv; acc5 += a[r5 + k] * bv; acc6 += a[r6 + k] * bv; acc7 += a[r7 + k] * bv;
  }
  let accs = array<vec4<f32>, 8>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
  for (var r = 0u; r < 8u; r++) {
    let m = m0 + r;
    if (m < p.M) {
      let o = m * p.N + n4 * 4u;
      c[o] = accs[r].x; c[o + 1u] = accs[r].y; c[o + 2u] = accs[r].z; c[o + 3u] = accs[r].w;
    }
  }
}
