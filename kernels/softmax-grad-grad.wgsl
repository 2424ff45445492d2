// softmaxGradGrad along one axis of dense y, g and the cotangent o (engine/ops/softmax-grad-grad.ts), into
// O = [ȳ; ḡ] ([2, ...shape]): ȳ = o ⊙ (g − Σ g ⊙ y) − g ⊙ Σ o ⊙ y, ḡ = y ⊙ (o − Σ o ⊙ y). One invocation per line, as
// softmax-grad.wgsl (outer × inner lines of `len` elements, `inner` apart): both sums in f32, then the writes.
// #include common.wgsl
override WG: u32 = 64u;

struct Params { outer: u32, len: u32, inner: u32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read> C: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let line = linear_id(gid, nwg, WG);
  if (line >= P.outer * P.inner) { return; }
  let s = (line / P.inner) * P.len * P.inner + line % P.inner;
  var gy = 0.0;
  var oy = 0.0;
  for (var j = 0u; j < P.len; j++) {
    let i = s + j * P.inner;
    gy += G[i] * Y[i];
    oy += C[i] * Y[i];
  }
  let half = P.outer * P.len * P.inner;
  for (var j = 0u; j < P.len; j++) {
    let i = s + j * P.inner;
    O[i] = C[i] * (G[i] - gy) - G[i] * oy;
    O[half + i] = Y[i] * (C[i] - oy);
  }
}
