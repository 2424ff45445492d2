// softmaxGrad along one axis of dense y and g: out = y ⊙ (g − Σ g ⊙ y). One invocation per line, as softmax.wgsl
// (outer × inner lines of `len` elements, `inner` apart): the dot in f32, then the write.
// #include common.wgsl
override WG: u32 = 64u;

struct Params { outer: u32, len: u32, inner: u32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let line = linear_id(gid, nwg, WG);
  if (line >= P.outer * P.inner) { return; }
  let s = (line / P.inner) * P.len * P.inner + line % P.inner;
  // a NaN anywhere in the line reaches the dot, and through it every output of the line (as in the composite)
  var dot = 0.0;
  for (var j = 0u; j < P.len; j++) {
    let i = s + j * P.inner;
    dot += G[i] * Y[i];
  }
  for (var j = 0u; j < P.len; j++) {
    let i = s + j * P.inner;
    O[i] = Y[i] * (G[i] - dot);
  }
}
