// log(sum_c exp(z[base + c])) over one row of C logits, max-subtracted so that extreme logits stay
// finite. Spliced ({{ROW_LSE}}) into the softmax kernels, which bind the logits as `z`.
fn rowLse(base: u32, C: u32) -> f32 {
  var m = z[base];
  for (var c = 1u; c < C; c++) { m = max(m, z[base + c]); }
  var se = 0.0;
  for (var c = 0u; c < C; c++) { se += exp(z[base + c] - m); }
  return m + log(se);
}
