// Loaders for a plain matmul: C = op(A) op(B), op = transpose when TA / TB is 1 (override constants,
// so each of the four layouts compiles without branches); C gets split-k partial sums at [z, m, n].
// A is [M, K] (or [K, M] transposed), B is [K, N] (or [N, K]).
override TA: u32 = 0u;
override TB: u32 = 0u;
struct Params { M: u32, N: u32, K: u32, kPerSplit: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

struct ARow { m: u32, ok: bool }
fn aRow(m: u32) -> ARow { return ARow(m, m < p.M); }
fn aK(k: u32) -> u32 { return k; }
fn loadA(r: ARow, k: u32) -> f32 {
  if (!r.ok) { return 0.0; }
  if (TA == 1u) { return a[k * p.M + r.m]; }
  return a[r.m * p.K + k];
}
fn loadB(k: u32, n: u32) -> f32 {
  if (n >= p.N) { return 0.0; }
  if (TB == 1u) { return b[n * p.K + k]; }
  return b[k * p.N + n];
}
fn storeC(m: u32, n: u32, z: u32, v: f32) { c[(z * p.M + m) * p.N + n] = v; }
