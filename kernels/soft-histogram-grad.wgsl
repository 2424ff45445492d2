// Backward of the soft histogram, one invocation per element of u [n]:
//   du_i = Σ_k a_ik (g_k − ḡ_i)(c_k − u_i)/h²,  ḡ_i = Σ_k a_ik g_k,
// over the same window of bins (nearest_i ± reach) as the forward. Two passes over the window: ḡ first, then the
// centred sum. Because Σ_k a_ik (g_k − ḡ_i) = 0, the factor c_k − u_i may be shifted by any per-element constant;
// the kernel uses c_k − c_nearest = (k − nearest)·width, which is small where a_ik is large. With c_k − u_i itself
// the terms for a u one unit outside the bins are ~60 (h = 1/8) and cancel to ~1e-3 of that, so the f32 rounding
// of a_ik would show in du.
// g [bins] is read by every element; with G_SHARED (the host sets it when GS = bins fits workgroup memory) each
// workgroup first copies it into workgroup memory.
// #include common.wgsl
const GS = 64u;
override G_SHARED: bool = true;
override WG: u32 = 256u;

struct Params { n: u32, bins: u32, reach: u32, _p: u32, low: f32, width: f32, inv2h2: f32, invh2: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;

var<workgroup> gs: array<f32, GS>;

fn g_at(k: u32) -> f32 {
  if (G_SHARED) { return gs[k]; }
  return G[k];
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  if (G_SHARED) {
    for (var k = lid.x; k < P.bins; k += WG) { gs[k] = G[k]; }
    workgroupBarrier();
  }
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  let u = U[i];
  let nearest = u32(clamp(floor((u - P.low) / P.width), 0.0, f32(P.bins - 1u)));
  let lo = select(0u, nearest - P.reach, nearest > P.reach);
  let hi = min(nearest + P.reach, P.bins - 1u);
  // offset of u from the nearest centre; logits relative to the nearest bin as in soft-histogram.wgsl
  let off = P.low + (f32(nearest) + 0.5) * P.width - u;
  var z = 0.0;
  var zg = 0.0;
  for (var k = lo; k <= hi; k++) {
    let dw = f32(i32(k) - i32(nearest)) * P.width;
    let e = exp(-dw * (2.0 * off + dw) * P.inv2h2);
    z += e;
    zg += e * g_at(k);
  }
  let gbar = zg / z;
  var acc = 0.0;
  for (var k = lo; k <= hi; k++) {
    let dw = f32(i32(k) - i32(nearest)) * P.width;
    let e = exp(-dw * (2.0 * off + dw) * P.inv2h2);
    acc += e * (g_at(k) - gbar) * dw;
  }
  O[i] = acc * P.invh2 / z;
}
