// An activation's backward as one elementwise pass: O = g·f′ over two strided operands of the output's shape,
// written densely. relu, tanh and sigmoid take f′ from their output y (relu: [y > 0], tanh: 1 − y², sigmoid:
// y(1 − y)); gelu takes it from its input x (the op geluGrad), the exact form with the erf of the gelu forward
// (unary.wgsl, scalar-math.wgsl) so that forward and backward use one approximation.
// #include common.wgsl
// #include scalar-math.wgsl
override WG: u32 = 256u;
// 1 relu, 2 tanh, 3 sigmoid (A = y); 4 gelu exact, 5 gelu tanh approximation (A = x)
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

// d/dx 0.5x(1 + th), th = tanh(u), u = √(2/π)(x + c x³): 0.5(1 + th) + 0.5x(1 − th)(1 + th)·√(2/π)(1 + 3c x²).
// 1 ± th come from t = exp(−2|u|) directly (2/(1 + t) and 2t/(1 + t)): forming 1 + th from th ≈ −1 would cancel
// to 0 for x < −3, where the slope is still ~1e-5 and the two terms nearly cancel each other too.
fn gelu_tanh_slope(x: f32) -> f32 {
  let u = 0.79788456080286536 * (x + 0.044715 * x * x * x);
  var one_plus: f32;
  var one_minus: f32;
  if (abs(u) < 0.3) {
    let th = tanh_safe(u);
    one_plus = 1.0 + th;
    one_minus = 1.0 - th;
  } else {
    let t = exp(-2.0 * abs(u));
    let big = 2.0 / (1.0 + t);
    let small = 2.0 * t / (1.0 + t);
    one_plus = select(small, big, u > 0.0);
    one_minus = select(big, small, u > 0.0);
  }
  let sech2 = one_minus * one_plus;
  // once th saturates the second term is 0, but x·(1 + 3c x²) overflows to inf for |x| > ~1e19 and 0·inf is NaN
  if (sech2 == 0.0) { return 0.5 * one_plus; }
  return 0.5 * one_plus + 0.5 * x * sech2 * (0.79788456080286536 * (1.0 + 0.134145 * x * x));
}

fn slope(a: f32) -> f32 {
  switch ACT {
    case 1u: { return select(0.0, 1.0, a > 0.0); }
    case 2u: { return 1.0 - a * a; }
    case 3u: { return a * (1.0 - a); }
    case 4u: { return gelu_erf_slope(a); }
    default: { return gelu_tanh_slope(a); }
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
