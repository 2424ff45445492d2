// Scalar functions WGSL lacks or whose builtins overflow on the CPU Vulkan drivers.

// tanh through exp(-2|x|): never forms inf/inf, so large |x| gives ±1 instead of NaN.
fn tanh_safe(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 0.3) {
    // Taylor series: 1 - exp(-2|x|) would cancel badly near 0
    let x2 = x * x;
    return x * (1.0 + x2 * (-0.33333333 + x2 * (0.13333333 + x2 * (-0.053968254 + x2 * 0.021869489))));
  }
  let t = exp(-2.0 * ax);
  return sign(x) * (1.0 - t) / (1.0 + t);
}

fn sigmoid(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}

// erf for f32: the Maclaurin series near 0 (relative accuracy where erf is small), an Abramowitz–Stegun
// 7.1.26-style rational-exponential fit beyond (absolute error < 1.5e-7).
fn erf(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 0.5) {
    let x2 = x * x;
    // 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320)
    return 1.1283791670955126 * x * (1.0 + x2 * (-0.33333333 + x2 * (0.1 + x2 * (-0.023809524 + x2 * (0.0046296296 - x2 * 0.00075757576)))));
  }
  if (ax >= 6.0) { return sign(x); }
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-ax * ax));
}
