// S = c·g·(R − I) in place over R [d, d] (from correlation-syrk.wgsl), c = 4/(N d(d − 1)): coherenceGrad's
// S = (gR + gRᵀ)/N for gR = ∂L/∂R = 2g(R − I)/(d(d − 1)), which is symmetric, so the transpose-add is a doubling
// and correlation-symmetrize.wgsl is not needed. S stays exactly symmetric, as R is. The cotangent g is read here
// from its own buffer (G[g_at]): reading it back to the host would stall the training step. One invocation per element.
// For the rows' Gram K = ẐẐᵀ [N, N] (N ≤ d/2) P.d is N and P.a = 1/N: S' = c·g·(K/N − I), and Ẑ(R − I) = (K/N − I)·Ẑ.
// On R, P.a = 1 (an exact product).
// #include common.wgsl
override WG: u32 = 256u;

struct Params { d: u32, g_at: u32, scale: f32, a: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> R: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = linear_id(gid, nwg, WG);
  if (e >= P.d * P.d) { return; }
  // element e = j·d + k lies on the diagonal when it is a multiple of d + 1
  let identity = select(0.0, 1.0, e % (P.d + 1u) == 0u);
  R[e] = (R[e] * P.a - identity) * (G[P.g_at] * P.scale);
}
