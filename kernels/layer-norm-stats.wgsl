// Row statistics of layer normalisation, shared by its forward (layer-norm.wgsl) and backward (layer-norm-grad.wgsl)
// so that both normalise with the very same μ and rstd: two passes over row [s, s + d) of the including shader's
// module-scope `X: array<f32>`. Returns (μ, 1/sqrt(var + eps)).
fn layer_norm_stats(s: u32, d: u32, eps: f32) -> vec2f {
  var mu = 0.0;
  for (var j = 0u; j < d; j++) { mu += X[s + j]; }
  mu /= f32(d);
  var v = 0.0;
  for (var j = 0u; j < d; j++) { let c = X[s + j] - mu; v += c * c; }
  return vec2f(mu, 1.0 / sqrt(v / f32(d) + eps));
}
