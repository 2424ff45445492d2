// The FTLE's fused step through a tanh layer (engine/ops/tanh-jvp-step.ts): for row b, δ = (1 − h²) ⊙ (v Wᵀ),
// g = ‖δ‖, and Y[b] = [δ/g | ln g] (Y dense [B, n + 1]). One dispatch: the products and the row norm in one
// workgroup (tanh-jvp-step-rows.wgsl); δ goes to Y first and is divided by g in place once the tree has g, each
// invocation re-reading only what it wrote itself.
// #include tanh-jvp-step-rows.wgsl
const NV = 1u;

@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let b0 = first_row(wid, nwg);
  if (b0 >= P.b) { return; }
  let t = lid.x;
  let vs = v_rows(b0);
  let ys = P.n + 1u;
  var ss: array<f32, RB>;
  for (var j0 = t; j0 < P.n; j0 += WG * TJ) {
    let p = products(vs, j0);
    for (var r = 0u; r < RB; r++) {
      let b = b0 + r;
      for (var c = 0u; c < TJ; c++) {
        let j = j0 + c * WG;
        if (b < P.b && j < P.n) {
          let d = slope(H[P.off.x + b * P.rs.x + j]) * p[r][c];
          Y[b * ys + j] = d;
          ss[r] = fma(d, d, ss[r]);
        }
      }
    }
  }
  for (var r = 0u; r < RB; r++) { red[r * WG + t] = ss[r]; }
  tree(t);
  for (var r = 0u; r < RB; r++) {
    let b = b0 + r;
    if (b < P.b) {
      // a zero row gives g = 0: NaN directions and ln 0, as the composite does
      let g = sqrt(red[r * WG]);
      for (var j = t; j < P.n; j += WG) { Y[b * ys + j] = Y[b * ys + j] / g; }
      if (t == 0u) { Y[b * ys + P.n] = log(g); }
    }
  }
}
