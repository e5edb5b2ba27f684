// log(sum_c exp(z[base + c])) over a row of C logits `z`, max-subtracted; NaN when a logit is NaN (tracked
// on its own: max() drops NaN, SwiftShader's exp(NaN) is inf). Spliced ({{ROW_LSE}}) into the softmax kernels.
fn rowLse(base: u32, C: u32) -> f32 {
  var m = z[base];
  var nan = m; // a NaN logit of the row, if there is one
  for (var c = 1u; c < C; c++) {
    let v = z[base + c];
    m = max(m, v);
    nan = select(nan, v, !(v == v));
  }
  var se = 0.0;
  for (var c = 0u; c < C; c++) { se += exp(z[base + c] - m); }
  return select(m + log(se), nan, !(nan == nan));
}

// exp that keeps NaN on every adapter (SwiftShader's exp(NaN) is inf).
fn expKeepNaN(v: f32) -> f32 {
  return select(exp(v), v, !(v == v));
}
