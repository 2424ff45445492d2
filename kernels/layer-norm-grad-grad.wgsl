// layerNormGradGrad for dense x, u, o [rows, d] into O = [2, rows, d] = [J o; curvature], J = ∂x̂/∂x of each
// LayerNorm row (engine/ops/layer-norm-grad-grad.ts). One invocation per row, as layer-norm-grad.wgsl's `rows`: μ and
// r from layer_norm_stats (the forward's very statistics), one pass for Σo, Σu, ⟨o, x̂⟩, ⟨u, x̂⟩, ⟨o, u⟩, one for
// the writes: J p = r·(p − Σp/d − x̂·⟨p, x̂⟩/d), curvature −(r/d)·(⟨o, J u⟩·x̂ + ⟨u, x̂⟩·J o + ⟨o, x̂⟩·J u) with
// ⟨o, J u⟩ = r·(⟨o, u⟩ − Σo·Σu/d − ⟨o, x̂⟩⟨u, x̂⟩/d).
// #include common.wgsl
// #include layer-norm-stats.wgsl
override WG: u32 = 64u;

struct Params { rows: u32, d: u32, eps: f32, _p0: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> O: array<f32>;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> U: array<f32>;
// the cotangent o of layerNormGrad's dx rows
@group(0) @binding(4) var<storage, read> C: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.rows) { return; }
  let s = i * P.d;
  let inv_d = 1.0 / f32(P.d);
  let stats = layer_norm_stats(s, P.d, P.eps);
  let mu = stats.x;
  let r = stats.y;
  var so = 0.0;
  var su = 0.0;
  var sox = 0.0;
  var sux = 0.0;
  var sou = 0.0;
  for (var j = 0u; j < P.d; j++) {
    let xh = (X[s + j] - mu) * r;
    let o = C[s + j];
    let u = U[s + j];
    so += o;
    su += u;
    sox += o * xh;
    sux += u * xh;
    sou += o * u;
  }
  let o_ju = r * (sou - so * su * inv_d - sox * sux * inv_d);
  let c = -r * inv_d;
  let second = P.rows * P.d;
  for (var j = 0u; j < P.d; j++) {
    let xh = (X[s + j] - mu) * r;
    let jo = r * (C[s + j] - so * inv_d - xh * sox * inv_d);
    let ju = r * (U[s + j] - su * inv_d - xh * sux * inv_d);
    O[s + j] = jo;
    O[second + s + j] = c * (o_ju * xh + sux * jo + sox * ju);
  }
}
