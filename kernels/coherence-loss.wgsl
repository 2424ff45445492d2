// The coherence loss L = Σ_jk (R_jk − δ_jk)²/(d(d − 1)), stage 1, over R [d, d] (dense, from correlation-syrk.wgsl):
// per-workgroup partial sums, each already multiplied by P.scale = 1/(d(d − 1)). With one workgroup PARTIAL is the
// scalar output; with more the host adds the partials with reduce.wgsl. The same pass serves the rows' Gram
// K = ẐẐᵀ [N, N] (N ≤ d/2, engine/backends/webgpu/kernels-eitp.ts): there P.d is N, each element is read as
// P.a·K = K/N and workgroup 0 adds P.extra = d − N, since ‖R − I_d‖² = ‖K/N − I_N‖² + d − N. On R, P.a = 1 (an exact
// product) and P.extra = 0. Workgroup x owns the elements
// [x·per_group, (x + 1)·per_group): invocation t adds every WG-th of them in order, then a halving tree in workgroup
// memory adds the WG sums. A fixed order throughout (WGSL has no float atomics): the same bits on every run.
const WG = 256u;

struct Params { count: u32, d: u32, per_group: u32, _p: u32, scale: f32, a: f32, extra: f32, _q: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> R: array<f32>;
@group(0) @binding(2) var<storage, read_write> PARTIAL: array<f32>;

var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let start = wid.x * P.per_group;
  let end = min(start + P.per_group, P.count);
  var s = 0.0;
  for (var e = start + t; e < end; e += WG) {
    // element e = j·d + k lies on the diagonal when it is a multiple of d + 1
    let residual = R[e] * P.a - select(0.0, 1.0, e % (P.d + 1u) == 0u);
    s = fma(residual, residual, s);
  }
  red[t] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half >>= 1u) {
    if (t < half) { red[t] += red[t + half]; }
    workgroupBarrier();
  }
  if (t == 0u) { PARTIAL[wid.x] = (red[0] + select(0.0, P.extra, wid.x == 0u)) * P.scale; }
}
