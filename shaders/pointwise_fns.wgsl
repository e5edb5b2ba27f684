// Helpers of the pointwise ops' expressions, appended to their kernels. T is f32 or vec4<f32>.

// NaN made at run time (a WGSL constant expression may not be NaN): 0 / 0, or inf - inf.
fn nanLike(x: T) -> T { return (x - x) / (x - x); }

// tanh that is +-1 past |x| = 10, where it rounds to +-1 in f32 (SwiftShader's tanh(+-inf) is NaN).
fn tanhSafe(x: T) -> T { return select(tanh(x), sign(x), abs(x) > T(10.0)); }

// The standard normal CDF Phi(x) = erfc(-x / sqrt(2)) / 2 by Abramowitz & Stegun 7.1.26 (absolute error
// < 1e-7 on Phi): the tail Phi(-|x|) is computed directly, not as 1 - Phi(|x|).
fn normCdf(x: T) -> T {
  let z = abs(x) * 0.7071067811865476;
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let tail = 0.5 * poly * exp(-z * z);
  return select(tail, 1.0 - tail, x > T(0.0));
}

// The standard normal density.
fn normPdf(x: T) -> T { return 0.3989422804014327 * exp(-0.5 * x * x); }

// log(1 + u) for u >= 0, accurate for small u (Goldberg's correction: (1 + u) - 1 is the u that was added).
fn log1pPos(u: T) -> T {
  let v = 1.0 + u;
  return select(log(v) * u / (v - 1.0), u, v == T(1.0));
}

// x^e as PyTorch's pow: a negative base with an integer exponent keeps its sign when e is odd; with a
// fractional exponent it is NaN; x^0 = 1; 0^e is 0 for e > 0 and +inf for e < 0; a NaN exponent gives NaN.
fn powT(x: T, e: T) -> T {
  let a = abs(x);
  let r = select(pow(a, e), select(T(0.0), 1.0 / a, e < T(0.0)), a == T(0.0));
  let integer = floor(e) == e;
  let odd = integer & (floor(e * 0.5) != e * 0.5);
  let negative = x < T(0.0);
  let signed = select(r, -r, odd & negative);
  let res = select(signed, nanLike(x), negative & !integer);
  return select(select(res, T(1.0), e == T(0.0)), e + a, !(e == e));
}

// GELU's tanh form (Hendrycks & Gimpel): 0.5 x (1 + tanh(u)), u = sqrt(2 / pi) (x + 0.044715 x^3), and its derivative.
fn geluTanhU(x: T) -> T { return tanhSafe(0.7978845608028654 * (x + 0.044715 * x * x * x)); }
fn geluTanhGrad(x: T) -> T {
  let t = geluTanhU(x);
  return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * 0.7978845608028654 * (1.0 + 0.134145 * x * x);
}
