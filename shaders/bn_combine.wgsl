// Batch statistics, pass 2: one thread per channel merges the chunks' (mean, M2) (Chan et al.), writes
// the mean and 1/sqrt(var + eps) (biased variance), and updates the moving statistics in place:
// moving = moving * momentum + batch * (1 - momentum), the variance times varScale (M / (M - 1): unbiased).
struct Params { M: u32, C: u32, rows: u32, nchunks: u32, eps: f32, momentum: f32, varScale: f32 }
@group(0) @binding(0) var<storage, read> part: array<f32>;
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> invstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> movingMean: array<f32>;
@group(0) @binding(4) var<storage, read_write> movingVar: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var n = 0.0;
  var mu = 0.0;
  var m2 = 0.0;
  for (var k = 0u; k < p.nchunks; k++) {
    let nb = f32(min(p.rows, p.M - k * p.rows));
    let mb = part[2u * k * p.C + c];
    let tot = n + nb;
    let d = mb - mu;
    mu += d * nb / tot;
    m2 += part[(2u * k + 1u) * p.C + c] + d * d * n * nb / tot;
    n = tot;
  }
  let v = m2 / n;
  mean[c] = mu;
  invstd[c] = inverseSqrt(v + p.eps);
  movingMean[c] = movingMean[c] * p.momentum + mu * (1.0 - p.momentum);
  movingVar[c] = movingVar[c] * p.momentum + v * p.varScale * (1.0 - p.momentum);
}
