// Backward of the fused tanh step (engine/ops/tanh-jvp-step.ts): from h, v, W and gy = [ḡ_u | ḡ_ℓ] (row-strided
// [B, n + 1]), with p = v Wᵀ, δ = (1 − h²) ⊙ p, g = ‖δ‖, u = δ/g and s = u·ḡ_u per row,
//   dδ = (ḡ_u − u s + u ḡ_ℓ)/g,  Z[0, b] = dp = (1 − h²) ⊙ dδ,  Z[1, b] = dh = −2h ⊙ p ⊙ dδ   (Z dense [2, B, n]).
// One dispatch: pass 1 sums δ² and δ·ḡ_u per row (s = Σδḡ_u / g) and parks p in Z[1, b], where the invocation that
// wrote it reads it back in pass 2; p is recomputed by the GEMM, never recovered as δ/(1 − h²).
// #include tanh-jvp-step-rows.wgsl
const NV = 2u;

@group(0) @binding(4) var<storage, read> G: array<f32>;
@group(0) @binding(5) var<storage, read_write> Z: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b0 = first_row(wid, nwg);
  if (b0 >= P.b) { return; }
  let t = lid.x;
  let vs = v_rows(b0);
  let dh0 = P.b * P.n;
  var ss: array<f32, RB>;
  var dot: array<f32, RB>;
  for (var j0 = t; j0 < P.n; j0 += WG * TJ) {
    let p = products(vs, j0);
    for (var r = 0u; r < RB; r++) {
      let b = b0 + r;
      for (var c = 0u; c < TJ; c++) {
        let j = j0 + c * WG;
        if (b < P.b && j < P.n) {
          let d = slope(H[P.off.x + b * P.rs.x + j]) * p[r][c];
          Z[dh0 + b * P.n + j] = p[r][c];
          ss[r] = fma(d, d, ss[r]);
          dot[r] = fma(d, G[P.off.w + b * P.rs.w + j], dot[r]);
        }
      }
    }
  }
  for (var r = 0u; r < RB; r++) {
    red[(2u * r) * WG + t] = ss[r];
    red[(2u * r + 1u) * WG + t] = dot[r];
  }
  tree(t);
  for (var r = 0u; r < RB; r++) {
    let b = b0 + r;
    if (b < P.b) {
      let g = sqrt(red[(2u * r) * WG]);
      let s = red[(2u * r + 1u) * WG] / g;
      let gs = P.off.w + b * P.rs.w;
      let gl = G[gs + P.n];
      for (var j = t; j < P.n; j += WG) {
        let h = H[P.off.x + b * P.rs.x + j];
        let p = Z[dh0 + b * P.n + j];
        let a = slope(h);
        let u = a * p / g;
        let dd = (G[gs + j] - u * s + u * gl) / g;
        Z[b * P.n + j] = a * dd;
        Z[dh0 + b * P.n + j] = -2.0 * h * p * dd;
      }
    }
  }
}
