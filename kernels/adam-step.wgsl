// One Adam/AdamW step over four strided operands p, g, m, v of one shape (often offset views of a single buffer:
// the previous step's packed output), written as O = [p′; m′; v′] (3n, dense) in one pass:
//   g′ = g + weight_decay·p (when weight_decay ≠ 0), m′ = β1·m + (1 − β1)·g′, v′ = β2·v + (1 − β2)·g′²,
//   p′ = decay·p − (m′/(√v′/bias2_sqrt + eps))·step_size.
// The scalars are folded on the host (1 − β in double precision, then rounded once).
// #include common.wgsl
override WG: u32 = 256u;
override DENSE_P: bool = false;
override DENSE_G: bool = false;
override DENSE_M: bool = false;
override DENSE_V: bool = false;

struct Params {
  n: u32, _p0: u32, _p1: u32, _p2: u32,
  beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32,
  eps: f32, weight_decay: f32, decay: f32, step_size: f32,
  bias2_sqrt: f32, _q0: u32, _q1: u32, _q2: u32,
  p: Layout, g: Layout, m: Layout, v: Layout,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> PV: array<f32>;
@group(0) @binding(2) var<storage, read> GV: array<f32>;
@group(0) @binding(3) var<storage, read> MV: array<f32>;
@group(0) @binding(4) var<storage, read> VV: array<f32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;

fn at(l: Layout, dense: bool, i: u32) -> u32 {
  if (dense) { return l.info.x + i; }
  return strided_index(l, i);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  let p = PV[at(P.p, DENSE_P, i)];
  var g = GV[at(P.g, DENSE_G, i)];
  // the branch, not g + 0·p: a zero weight decay must not turn an infinite p into a NaN gradient
  if (P.weight_decay != 0.0) { g += P.weight_decay * p; }
  let m1 = P.beta1 * MV[at(P.m, DENSE_M, i)] + P.one_minus_beta1 * g;
  let v1 = P.beta2 * VV[at(P.v, DENSE_V, i)] + P.one_minus_beta2 * (g * g);
  O[i] = P.decay * p - (m1 / (sqrt(v1) / P.bias2_sqrt + P.eps)) * P.step_size;
  O[P.n + i] = m1;
  O[2u * P.n + i] = v1;
}
