// Layer normalisation over the last axis of dense x [rows, d]: one invocation per row, two-pass mean/variance.
// #include common.wgsl
// #include layer-norm-stats.wgsl
override WG: u32 = 64u;

struct Params { rows: u32, d: u32, eps: f32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.rows) { return; }
  let s = i * P.d;
  let stats = layer_norm_stats(s, P.d, P.eps);
  let mu = stats.x;
  let rstd = stats.y;
  for (var j = 0u; j < P.d; j++) { O[s + j] = (X[s + j] - mu) * rstd * W[j] + B[j]; }
}
