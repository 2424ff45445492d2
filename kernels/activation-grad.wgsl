// An activation's backward as one elementwise pass: O = g·f′ over two strided operands of the output's shape,
// written densely. relu, tanh and sigmoid take f′ from their output y (relu: [y > 0], tanh: 1 − y², sigmoid:
// y(1 − y)); gelu takes it (or gelu″: geluGrad's order 2) from its input x (the op geluGrad), the exact form with
// the erf of the gelu forward (unary.wgsl, scalar-math.wgsl) so that forward and backward use one approximation.
// #include common.wgsl
// #include scalar-math.wgsl
override WG: u32 = 256u;
// 1 relu, 2 tanh, 3 sigmoid (A = y); 4 gelu exact, 5 gelu tanh approximation, 6 and 7 their second derivatives
// (geluGrad's order 2) (A = x)
override ACT: u32 = 1u;
override DENSE_A: bool = false;
override DENSE_G: bool = false;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32, a: Layout, g: Layout }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;

// gelu′(x) = Φ(x) + x·φ(x). Large |x| needs no special case: erf saturates to ±1 and x·exp(−x²/2) to 0.
fn gelu_erf_slope(x: f32) -> f32 {
  let cdf = 0.5 * (1.0 + erf(x * 0.70710678118654752));
  return cdf + x * (0.39894228040143268 * exp(-0.5 * x * x));
}

// (1 + th, 1 − th) for th = tanh(u), u = √(2/π)(x + c x³), the tanh form's inner value. Away from 0 they come from
// t = exp(−2|u|) directly (2/(1 + t) and 2t/(1 + t)): forming 1 + th from th ≈ −1 would cancel to 0 for x < −3,
// where gelu′ is still ~1e-5 (its two terms nearly cancel each other too) and gelu″ ~1e-4.
fn gelu_tanh_one_pm(x: f32) -> vec2f {
  let u = 0.79788456080286536 * (x + 0.044715 * x * x * x);
  if (abs(u) < 0.3) {
    let th = tanh_safe(u);
    return vec2f(1.0 + th, 1.0 - th);
  }
  let t = exp(-2.0 * abs(u));
  let big = 2.0 / (1.0 + t);
  let small = 2.0 * t / (1.0 + t);
  return select(vec2f(small, big), vec2f(big, small), u > 0.0);
}

// d/dx 0.5x(1 + th): 0.5(1 + th) + 0.5x(1 − th)(1 + th)·√(2/π)(1 + 3c x²).
fn gelu_tanh_slope(x: f32) -> f32 {
  let pm = gelu_tanh_one_pm(x);
  let sech2 = pm.y * pm.x;
  // once th saturates the second term is 0, but x·(1 + 3c x²) overflows to inf for |x| > ~1e19 and 0·inf is NaN
  if (sech2 == 0.0) { return 0.5 * pm.x; }
  return 0.5 * pm.x + 0.5 * x * sech2 * (0.79788456080286536 * (1.0 + 0.134145 * x * x));
}

// gelu″(x) = φ(x)(2 − x²); 0 once φ underflows (x² may have overflowed to inf: 0·inf would be NaN).
fn gelu_erf_curvature(x: f32) -> f32 {
  let pdf = 0.39894228040143268 * exp(-0.5 * x * x);
  if (pdf == 0.0) { return 0.0; }
  return pdf * (2.0 - x * x);
}

// The tanh form's gelu″ = (1 − th²)·(u′ + 3c√(2/π)·x² − x·th·u′²), u′ = √(2/π)(1 + 3c x²),
// th = ((1 + th) − (1 − th))/2; 0 once 1 − th² is 0.
fn gelu_tanh_curvature(x: f32) -> f32 {
  let pm = gelu_tanh_one_pm(x);
  let sech2 = pm.y * pm.x;
  if (sech2 == 0.0) { return 0.0; }
  let th = 0.5 * (pm.x - pm.y);
  let du = 0.79788456080286536 * (1.0 + 0.134145 * x * x);
  return sech2 * (du + 0.10703222440890037 * x * x - x * th * du * du);
}

fn slope(a: f32) -> f32 {
  switch ACT {
    case 1u: { return select(0.0, 1.0, a > 0.0); }
    case 2u: { return 1.0 - a * a; }
    case 3u: { return a * (1.0 - a); }
    case 4u: { return gelu_erf_slope(a); }
    case 5u: { return gelu_tanh_slope(a); }
    case 6u: { return gelu_erf_curvature(a); }
    default: { return gelu_tanh_curvature(a); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  var ia = P.a.info.x + i;
  if (!DENSE_A) { ia = strided_index(P.a, i); }
  var ig = P.g.info.x + i;
  if (!DENSE_G) { ig = strided_index(P.g, i); }
  O[i] = G[ig] * slope(A[ia]);
}
