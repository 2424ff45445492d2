// The backward of softmax cross-entropy for dense logits [rows, C]: D[i, j] = (softmax(x[i])_j − [j == t_i])·s_i,
// one invocation per row (the row's max and sum of exp, then the write), like cross-entropy.wgsl. The scale s_i is
// g/rows ('mean'), g ('sum') or g[i] ('none'). A target outside [0, C) is reported through the status buffer and
// its row is filled with NaN.
// #include common.wgsl
alias TT = i32;
override WG: u32 = 64u;
// 0 'none' (g [rows]), 1 'mean', 2 'sum' (g a scalar)
override REDUCTION: u32 = 0u;

struct Params { rows: u32, classes: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<TT>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> D: array<f32>;
@group(0) @binding(5) var<storage, read_write> STATUS: array<atomic<u32>>;
// #include status.wgsl

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.rows) { return; }
  let s = i * P.classes;
  let y = i32(T[i]);
  if (y < 0 || y >= i32(P.classes)) {
    report_index_error(y, i, P.classes);
    for (var j = 0u; j < P.classes; j++) { D[s + j] = nan_f32(); }
    return;
  }
  var scale: f32;
  switch REDUCTION {
    case 0u: { scale = G[i]; }
    case 1u: { scale = G[0] / f32(P.rows); }
    default: { scale = G[0]; }
  }
  var m = neg_inf();
  for (var j = 0u; j < P.classes; j++) { m = max(m, X[s + j]); }
  var z = 0.0;
  for (var j = 0u; j < P.classes; j++) { z += exp(X[s + j] - m); }
  // exp(x − m)/z as softmax.wgsl computes it; the one-hot term is subtracted before scaling, as the reference does
  let inv = 1.0 / z;
  for (var j = 0u; j < P.classes; j++) {
    let p = exp(X[s + j] - m) * inv;
    D[s + j] = (p - select(0.0, 1.0, j == u32(y))) * scale;
  }
}
