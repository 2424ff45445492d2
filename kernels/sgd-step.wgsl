// One SGD step over three strided operands p, g, buf of one shape (p and buf often offset views of a single
// buffer: the previous step's packed output), written densely in one pass:
//   d = g + weight_decay·p (when weight_decay ≠ 0);
//   with momentum μ ≠ 0: buf′ = first ? d : μ·buf + (1 − dampening)·d, d = nesterov ? d + μ·buf′ : buf′;
//   p′ = p − lr·d.
// O = [p′] (n) when μ = 0, else [p′; buf′] (2n). (1 − dampening) is folded on the host in double precision.
// MOMENTUM, READ_BUF (μ ≠ 0 and not the first step) and NESTEROV are pipeline constants, so a plain step neither
// reads buf nor writes past n.
// #include common.wgsl
override WG: u32 = 256u;
override DENSE_P: bool = false;
override DENSE_G: bool = false;
override DENSE_B: bool = false;
override MOMENTUM: bool = false;
override READ_BUF: bool = false;
override NESTEROV: bool = false;

struct Params {
  n: u32, _p0: u32, _p1: u32, _p2: u32,
  lr: f32, momentum: f32, one_minus_dampening: f32, weight_decay: f32,
  p: Layout, g: Layout, b: Layout,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> PV: array<f32>;
@group(0) @binding(2) var<storage, read> GV: array<f32>;
@group(0) @binding(3) var<storage, read> BV: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

fn at(l: Layout, dense: bool, i: u32) -> u32 {
  if (dense) { return l.info.x + i; }
  return strided_index(l, i);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  let p = PV[at(P.p, DENSE_P, i)];
  var d = GV[at(P.g, DENSE_G, i)];
  // the branch, not g + 0·p: a zero weight decay must not turn an infinite p into a NaN step
  if (P.weight_decay != 0.0) { d += P.weight_decay * p; }
  if (MOMENTUM) {
    var b1 = d;
    if (READ_BUF) { b1 = P.momentum * BV[at(P.b, DENSE_B, i)] + P.one_minus_dampening * d; }
    O[P.n + i] = b1;
    if (NESTEROV) { d += P.momentum * b1; } else { d = b1; }
  }
  O[i] = p - P.lr * d;
}
