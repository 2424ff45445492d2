// The backward of layer normalisation for dense x, g [rows, d] and w [d], into O = [rows + 2, d] = [dx; dw; db].
// Three entry points, each using a prefix of the bindings (the pipeline layout is derived per entry point):
//   rows:     one invocation per row: μ, rstd (kept in S for `columns`), then
//             dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)) with x̂ = (x − μ)·rstd;
//   columns:  invocation (j, c) sums g·x̂ and g over rows [c·R, (c + 1)·R) of column j, in row order: into O's
//             dw / db rows when there is one chunk (DIRECT), else into partials in S;
//   finish:   sums the partials of each column over the chunks, in chunk order.
// No float atomics anywhere, so dw and db do not depend on scheduling.
// #include common.wgsl
// #include layer-norm-stats.wgsl
override WG: u32 = 64u;
override DIRECT: bool = false;

// chunk: rows per `columns` invocation; chunks = ⌈rows / chunk⌉
struct Params { rows: u32, d: u32, eps: f32, chunk: u32, chunks: u32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
// S: [μ_i, rstd_i] per row (2·rows), then the partials [chunks, 2d] (dw part, then db part, per chunk)
@group(0) @binding(1) var<storage, read_write> S: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;
@group(0) @binding(3) var<storage, read> X: array<f32>;
@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read> W: array<f32>;

@compute @workgroup_size(WG)
fn rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.rows) { return; }
  let s = i * P.d;
  let inv_d = 1.0 / f32(P.d);
  let stats = layer_norm_stats(s, P.d, P.eps);
  let mu = stats.x;
  let rstd = stats.y;
  S[2u * i] = mu;
  S[2u * i + 1u] = rstd;
  var mean_gw = 0.0;
  var mean_gwx = 0.0;
  for (var j = 0u; j < P.d; j++) {
    let gw = G[s + j] * W[j];
    mean_gw += gw;
    mean_gwx += gw * ((X[s + j] - mu) * rstd);
  }
  mean_gw *= inv_d;
  mean_gwx *= inv_d;
  for (var j = 0u; j < P.d; j++) {
    let xhat = (X[s + j] - mu) * rstd;
    O[s + j] = rstd * (G[s + j] * W[j] - mean_gw - xhat * mean_gwx);
  }
}

@compute @workgroup_size(WG)
fn columns(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let c = gid.y;
  if (j >= P.d) { return; }
  let row_end = min((c + 1u) * P.chunk, P.rows);
  var sw = 0.0;
  var sb = 0.0;
  for (var i = c * P.chunk; i < row_end; i++) {
    let g = G[i * P.d + j];
    sw += g * ((X[i * P.d + j] - S[2u * i]) * S[2u * i + 1u]);
    sb += g;
  }
  if (DIRECT) {
    O[P.rows * P.d + j] = sw;
    O[(P.rows + 1u) * P.d + j] = sb;
  } else {
    let at = 2u * P.rows + c * 2u * P.d;
    S[at + j] = sw;
    S[at + P.d + j] = sb;
  }
}

// One invocation per entry of [dw, db] (2d): the dw and db rows are adjacent in O, as they are in each chunk.
@compute @workgroup_size(WG)
fn finish(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= 2u * P.d) { return; }
  var s = 0.0;
  for (var c = 0u; c < P.chunks; c++) { s += S[2u * P.rows + c * 2u * P.d + j]; }
  O[P.rows * P.d + j] = s;
}
