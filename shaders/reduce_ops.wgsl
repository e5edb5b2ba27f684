// Reductions over the middle axis of x as [outer, r, inner], in chunks along r as reduce.wgsl; OP (0 max,
// 1 min, 2 argmax, 3 argmin, 4 prod) is an override constant (a uniform op ran 5x slower on SwiftShader). Each
// invocation folds its chunk into a state (a: f32, b: u32) in aux[t], the result in out[t]:
//   max/min: a the extremum, b how many equal it;   argmax/argmin: a the extremum, b its first index;
//   prod: a the product of the non-zeros, b how many are zero.
// partial = 1: x holds a first pass's states. NaN as PyTorch (argmax/argmin: the first NaN). INT: int32 values.
override OP: u32 = 0u;
override INT: bool = false;
struct Params { outer: u32, r: u32, inner: u32, chunk: u32, nchunks: u32, partial: u32 }
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<storage, read_write> aux: array<vec2<u32>>;
@group(0) @binding(3) var<uniform> p: Params;

fn isNan(v: f32) -> bool { return !(v == v); }

// Whether the value of bits vb replaces the extremum cb (NaN wins over numbers, the first NaN stays).
fn better(vb: u32, cb: u32) -> bool {
  let up = OP == 0u || OP == 2u;
  if (INT) {
    let vi = bitcast<i32>(vb);
    let ci = bitcast<i32>(cb);
    return select((vi < ci), (vi > ci), up);
  }
  let v = bitcast<f32>(vb);
  let c = bitcast<f32>(cb);
  if (isNan(c)) { return false; }
  if (isNan(v)) { return true; }
  return select((v < c), (v > c), up);
}

// Whether the values of bits vb and cb tie (NaN ties with NaN).
fn tie(vb: u32, cb: u32) -> bool {
  let v = bitcast<f32>(vb);
  let c = bitcast<f32>(cb);
  return vb == cb || (!INT && (v == c || (isNan(v) && isNan(c))));
}

// The state of element j (or of partial state j).
fn lift(j: u32, at: u32) -> vec2<u32> {
  if (p.partial == 1u) { return aux_in(at); }
  switch (OP) {
    case 0u, 1u: { return vec2<u32>(x[at], 1u); }
    case 2u, 3u: { return vec2<u32>(x[at], j); }
    default: { return select(vec2<u32>(x[at], 0u), vec2<u32>(bitcast<u32>(1.0), 1u), bitcast<f32>(x[at]) == 0.0); }
  }
}

// A first pass's state (its aux buffer is bound as x).
fn aux_in(at: u32) -> vec2<u32> { return vec2<u32>(x[2u * at], x[2u * at + 1u]); }

// Fold state s into state c.
fn combine(c: vec2<u32>, s: vec2<u32>) -> vec2<u32> {
  switch (OP) {
    case 0u, 1u: {
      if (better(s.x, c.x)) { return s; }
      return vec2<u32>(c.x, c.y + select(0u, s.y, tie(s.x, c.x)));
    }
    case 2u, 3u: { return select(c, s, better(s.x, c.x)); }
    default: { return vec2<u32>(bitcast<u32>(bitcast<f32>(c.x) * bitcast<f32>(s.x)), c.y + s.y); }
  }
}

// The reduction's value from a final state.
fn result(s: vec2<u32>) -> u32 {
  let a = bitcast<f32>(s.x);
  switch (OP) {
    case 0u, 1u: { return s.x; }
    case 2u, 3u: { return s.y; }
    // With a zero: 0, or NaN where the other factors hold an infinity or NaN (0 * inf), spelled out.
    default: {
      return bitcast<u32>(select(a, select(0.0, (a - a) / (a - a), !(abs(a) <= 3.4e38)), s.y > 0u));
    }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 256u;
  if (t >= p.outer * p.nchunks * p.inner) { return; }
  let i = t % p.inner;
  let c = (t / p.inner) % p.nchunks;
  let o = t / (p.inner * p.nchunks);
  let j0 = c * p.chunk;
  let j1 = min(j0 + p.chunk, p.r);
  var at = (o * p.r + j0) * p.inner + i;
  var s = lift(j0, at);
  for (var j = j0 + 1u; j < j1; j++) {
    at += p.inner;
    s = combine(s, lift(j, at));
  }
  aux[t] = s;
  out[t] = result(s);
}
