// Column statistics of the correlation op for dense z [n, d] (row-major): S[j] = μ_j, S[d + j] = r_j =
// 1/sqrt(var_j + eps) (population variance, two passes), and the standardised columns ZH = Ẑ = (z − μ)·r that
// correlation-syrk.wgsl and correlation-backward.wgsl read (written by the same invocations, right after their
// column's statistics).
// #include common.wgsl
// #include correlation-columns.wgsl

struct Params { n: u32, d: u32, eps: f32, inv_n: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Z: array<f32>;
@group(0) @binding(2) var<storage, read_write> S: array<f32>;
@group(0) @binding(3) var<storage, read_write> ZH: array<f32>;

@compute @workgroup_size(CX, RY)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let j = wid.x * CX + lid.x;
  // lanes past the last column read a valid column and store nothing: no branch around the barriers
  let jj = min(j, P.d - 1u);
  var s = 0.0;
  for (var i = lid.y; i < P.n; i += RY) { s += Z[i * P.d + jj]; }
  red[lid.y * CX + lid.x] = vec2f(s, 0.0);
  tree(lid.x, lid.y);
  let mu = red[lid.x].x * P.inv_n;
  workgroupBarrier();
  var v = 0.0;
  for (var i = lid.y; i < P.n; i += RY) {
    let c = Z[i * P.d + jj] - mu;
    v += c * c;
  }
  red[lid.y * CX + lid.x] = vec2f(v, 0.0);
  tree(lid.x, lid.y);
  let r = 1.0 / sqrt(red[lid.x].x * P.inv_n + P.eps);
  if (j < P.d) {
    if (lid.y == 0u) {
      S[j] = mu;
      S[P.d + j] = r;
    }
    for (var i = lid.y; i < P.n; i += RY) { ZH[i * P.d + j] = (Z[i * P.d + j] - mu) * r; }
  }
}
