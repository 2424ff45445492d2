// Softmax cross-entropy per row: loss[i] = logsumexp(x[i, :]) - x[i, t[i]], one invocation per row of dense
// logits [rows, C]. The 'mean' / 'sum' reductions run afterwards as a reduce kernel over the rows.
// #include common.wgsl
alias TT = i32;
override WG: u32 = 64u;

struct Params { rows: u32, classes: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> T: array<TT>;
@group(0) @binding(3) var<storage, read_write> L: array<f32>;
@group(0) @binding(4) var<storage, read_write> STATUS: array<atomic<u32>>;
// #include status.wgsl

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.rows) { return; }
  let y = i32(T[i]);
  if (y < 0 || y >= i32(P.classes)) {
    report_index_error(y, i, P.classes);
    L[i] = nan_f32();
    return;
  }
  let s = i * P.classes;
  var m = neg_inf();
  for (var j = 0u; j < P.classes; j++) { m = max(m, X[s + j]); }
  var z = 0.0;
  for (var j = 0u; j < P.classes; j++) { z += exp(X[s + j] - m); }
  L[i] = m + log(z) - X[s + u32(y)];
}
