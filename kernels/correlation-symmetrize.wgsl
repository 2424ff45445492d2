// S = (G + Gᵀ)/n for G = gR [d, d], the cotangent of R = ẐᵀẐ/n: correlationGrad's dẐ is Ẑ·S. One invocation per
// element; S is exactly symmetric because f32 addition commutes.
// #include common.wgsl
override WG: u32 = 256u;

struct Params { d: u32, _p: u32, inv_n: f32, _q: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> S: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = linear_id(gid, nwg, WG);
  if (e >= P.d * P.d) { return; }
  let j = e / P.d;
  let k = e - j * P.d;
  S[e] = (G[e] + G[k * P.d + j]) * P.inv_n;
}
