// The thermodynamic term's activation density, stage 1: per-workgroup partial sums of a²/(a² + c), c = τ² + eps,
// over a [n] (any layout), each already divided by n. The host sums the partials with reduce.wgsl in a second
// dispatch (a fixed tree, so the result does not depend on scheduling); with one workgroup PARTIAL is the output.
// Workgroup x owns the elements [x·per_group, (x + 1)·per_group): invocation t adds every WG-th of them in order,
// then a halving tree in workgroup memory adds the WG sums. There are no float atomics in WGSL, and none needed.
// τ is read here from its own buffer (TAU[tau_at]): reading it back to the host would stall the training step.
// #include common.wgsl
const WG = 256u;
override DENSE_A: bool = true;

struct Params { n: u32, per_group: u32, tau_at: u32, _p: u32, eps: f32, inv_n: f32, _q0: u32, _q1: u32, a: Layout }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> TAU: array<f32>;
@group(0) @binding(3) var<storage, read_write> PARTIAL: array<f32>;

var<workgroup> red: array<f32, WG>;

// a²/(a² + c) written as 1/(1 + c/a²): a finite |a| past ~1e19, whose square overflows f32, counts 1 (the f64
// reference's value) instead of inf/inf = NaN; a = 0 gives 1/(1 + inf) = 0 for any c > 0. An infinite or NaN a
// gives NaN, as ∞/∞ does in the reference: tested on the bits, since compilers may fold float self-comparisons.
fn density_term(a: f32, c: f32) -> f32 {
  let finite = (bitcast<u32>(a) & 0x7fffffffu) < 0x7f800000u;
  return select(nan_f32(), 1.0 / (1.0 + c / (a * a)), finite);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let tau = TAU[P.tau_at];
  let c = tau * tau + P.eps;
  let start = wid.x * P.per_group;
  let end = min(start + P.per_group, P.n);
  var s = 0.0;
  for (var i = start + t; i < end; i += WG) {
    var ia = P.a.info.x + i;
    if (!DENSE_A) { ia = strided_index(P.a, i); }
    s += density_term(A[ia], c);
  }
  red[t] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half >>= 1u) {
    if (t < half) { red[t] += red[t + half]; }
    workgroupBarrier();
  }
  if (t == 0u) { PARTIAL[wid.x] = red[0] * P.inv_n; }
}
