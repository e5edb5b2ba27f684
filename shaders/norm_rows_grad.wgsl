// Layer and group normalization backward, rows shared out as the forward's: with xhat = (x - mean) * rstd
// and h = dy * gamma, dx = rstd * (h - mean(h) - xhat * mean(h * xhat)); dyxhat = dy * xhat (gamma's).
override AFFINE: u32 = 1u;
struct Params { rows: u32, groups: u32, pixels: u32, channels: u32, cg: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<vec2<f32>>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dyxhat: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

{{NORM_COMMON}}

fn h(row: u32, j: u32, i: u32) -> f32 {
  if (AFFINE == 1u) { return dy[i] * gamma[channel(row, j)]; }
  return dy[i];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = rowWork(gid, wid, nwg, lid);
  let row = w.row;
  let m = p.pixels * p.cg;
  let st = stats[row];
  var s1 = 0.0;
  var s2 = 0.0;
  for (var j = w.first; j < m; j += w.step) {
    let i = at(row, j);
    let hv = h(row, j, i);
    s1 += hv;
    s2 += hv * (x[i] - st.x) * st.y;
  }
  let mh = rowSum(s1, lid) / f32(m);
  let mhx = rowSum(s2, lid) / f32(m);
  if (!w.valid) { return; }
  for (var j = w.first; j < m; j += w.step) {
    let i = at(row, j);
    let xhat = (x[i] - st.x) * st.y;
    dx[i] = st.y * (h(row, j, i) - mh - xhat * mhx);
    dyxhat[i] = dy[i] * xhat;
  }
}
