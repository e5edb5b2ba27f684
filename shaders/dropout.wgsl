// Inverted dropout: y = x * (keep(i) ? scale : 0), scale = 1 / (1 - rate) (a dropped NaN stays NaN).
// keep(i) = hash(seed, i) >= threshold = rate * 2^32: no state and no mask buffer, so the backward pass
// regenerates the mask by running this kernel on the gradient with the same seed.
struct Params { n: u32, seed: u32, threshold: u32, scale: f32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// PCG-RXS-M-XS 32-bit output permutation (Jarzynski & Olano, "Hash Functions for GPU Rendering", 2020).
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  let h = pcg(pcg(i) ^ pcg(p.seed ^ 0x9e3779b9u));
  y[i] = x[i] * select(0.0, p.scale, h >= p.threshold);
}
