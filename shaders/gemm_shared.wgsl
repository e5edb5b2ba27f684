// GEMM core with workgroup-memory tiles (the default on GPUs): a 16x16 workgroup computes a 64x64 tile
// of C, each invocation 4x4, staging 64x16 of A (one fixed row per invocation) and 16x64 of B per step.
const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;
var<workgroup> As: array<f32, 1024>; // [BK][BM]
var<workgroup> Bs: array<f32, 1024>; // [BK][BN]

{{LOADERS}}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let mBase = wid.y * BM;
  let nBase = wid.x * BN;
  let kBeg = wid.z * p.kPerSplit;
  let kEnd = min(kBeg + p.kPerSplit, p.K);
  // Loading roles: A row (li / 4), four k's from (li % 4) * 4; B k (li / 16), four n's from (li % 16) * 4.
  let aM = li / 4u;
  let aKq = (li % 4u) * 4u;
  let row = aRow(mBase + aM);
  let bKr = li / 16u;
  let bN = (li % 16u) * 4u;
  // Compute roles: rows ty*4.., columns tx*4..
  let tx = li % 16u;
  let ty = li / 16u;
  var acc: array<vec4<f32>, 4>;
  for (var kt = kBeg; kt < kEnd; kt += BK) {
    for (var j = 0u; j < 4u; j++) {
      let k = kt + aKq + j;
      var v = 0.0;
      if (k < kEnd) { v = loadA(row, aK(k)); }
      As[(aKq + j) * BM + aM] = v;
    }
    let kb = kt + bKr;
    var bv = vec4<f32>();
    if (kb < kEnd) { bv = loadB4(kb, nBase + bN); }
    for (var j = 0u; j < 4u; j++) { Bs[bKr * BN + bN + j] = bv[j]; }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let ai = kk * BM + ty * 4u;
      let bi = kk * BN + tx * 4u;
      let a = vec4<f32>(As[ai], As[ai + 1u], As[ai + 2u], As[ai + 3u]);
      let b = vec4<f32>(Bs[bi], Bs[bi + 1u], Bs[bi + 2u], Bs[bi + 3u]);
      acc[0] += a.x * b;
      acc[1] += a.y * b;
      acc[2] += a.z * b;
      acc[3] += a.w * b;
    }
    workgroupBarrier();
  }
  let cm = colMap(nBase + tx * 4u);
  for (var r = 0u; r < 4u; r++) {
    let m = mBase + ty * 4u + r;
    if (m >= p.M) { break; }
    let v = rowMap(acc[r], cm);
    for (var c = 0u; c < 4u; c++) {
      let n = nBase + tx * 4u + c;
      if (n < p.N) { storeC(m, n, wid.z, v[c]); }
    }
  }
}
