// The per-column standardisation backward of correlationGrad (layerNorm's backward, applied per column), for
// D = dẐ [n, d] = Ẑ·(gR + gRᵀ)/n (the matmul kernel, with correlation-symmetrize.wgsl's S) and ZH = Ẑ, S = (μ, r)
// from correlation-stats.wgsl:
//   column_means: MS[j] = mean_i dẐ_ij, MS[d + j] = mean_i dẐ_ij·Ẑ_ij;
//   finish:       D_ij ← r_j (dẐ_ij − MS[j] − Ẑ_ij·MS[d + j])   (in place: D becomes dz).
// #include common.wgsl
// #include correlation-columns.wgsl

struct Params { n: u32, d: u32, eps: f32, inv_n: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ZH: array<f32>;
@group(0) @binding(2) var<storage, read_write> D: array<f32>;
@group(0) @binding(3) var<storage, read_write> MS: array<f32>;
@group(0) @binding(4) var<storage, read> S: array<f32>;

@compute @workgroup_size(CX, RY)
fn column_means(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let j = wid.x * CX + lid.x;
  let jj = min(j, P.d - 1u);
  var s = vec2f(0.0);
  for (var i = lid.y; i < P.n; i += RY) {
    let g = D[i * P.d + jj];
    s += vec2f(g, g * ZH[i * P.d + jj]);
  }
  red[lid.y * CX + lid.x] = s;
  tree(lid.x, lid.y);
  if (lid.y == 0u && j < P.d) {
    MS[j] = red[lid.x].x * P.inv_n;
    MS[P.d + j] = red[lid.x].y * P.inv_n;
  }
}

// One invocation per column and row stripe: x over columns, y strides over rows (the grid's y is capped).
@compute @workgroup_size(CX, RY)
fn finish(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let j = gid.x;
  if (j >= P.d) { return; }
  let r = S[P.d + j];
  let m1 = MS[j];
  let m2 = MS[P.d + j];
  for (var i = gid.y; i < P.n; i += nwg.y * RY) {
    let idx = i * P.d + j;
    D[idx] = r * (D[idx] - m1 - ZH[idx] * m2);
  }
}
