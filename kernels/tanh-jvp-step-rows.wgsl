// Shared by tanh-jvp-step.wgsl and tanh-jvp-step-grad.wgsl (the FTLE's fused tanh step and its backward). A
// workgroup of WG invocations owns RB consecutive batch rows; invocation t takes the columns j ≡ t (mod WG) of all
// RB rows, TJ of them per pass (t, t + WG, …), so each W load feeds RB products p_bj = Σ_k v_bk w_jk and each V load
// TJ. V is read straight from storage (every invocation of the workgroup reads the same V element at a time), not
// staged in workgroup memory, so any `in` works without tiling. Row sums then meet in a fixed-order tree in
// workgroup memory (deterministic), NV values per row (NV is declared by the including kernel).
// Operands are row-strided views: element (r, c) of operand i sits at P.off[i] + r·P.rs[i] + c, so the strided
// `direction` view of a previous step (row stride out + 1) is read in place. Operand order: h, v, w, gy.
const RB = 1u;
const WG = 64u;
const TJ = 1u;

struct Params { b: u32, n: u32, k: u32, _p: u32, off: vec4u, rs: vec4u }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> H: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read> W: array<f32>;

var<workgroup> red: array<f32, NV * RB * WG>;

// First row of the workgroup; workgroups spill into y beyond 65535 (see the host's launch grid).
fn first_row(wid: vec3u, nwg: vec3u) -> u32 {
  return (wid.y * nwg.x + wid.x) * RB;
}

// Storage index of column 0 of each of the workgroup's rows in V; rows past the batch read the last row (their
// products are computed and dropped, which keeps every invocation on the same path).
fn v_rows(b0: u32) -> array<u32, RB> {
  var s: array<u32, RB>;
  for (var r = 0u; r < RB; r++) { s[r] = P.off.y + min(b0 + r, P.b - 1u) * P.rs.y; }
  return s;
}

// p_bj = Σ_k v_bk w_jk for the RB rows at vs and the TJ columns j + c·WG (c < TJ; columns past n read W's last row
// and are dropped by the caller), accumulated with fma in order of k.
fn products(vs: array<u32, RB>, j: u32) -> array<array<f32, TJ>, RB> {
  var acc: array<array<f32, TJ>, RB>;
  var wj: array<u32, TJ>;
  for (var c = 0u; c < TJ; c++) { wj[c] = P.off.z + min(j + c * WG, P.n - 1u) * P.rs.z; }
  for (var k = 0u; k < P.k; k++) {
    var wk: array<f32, TJ>;
    for (var c = 0u; c < TJ; c++) { wk[c] = W[wj[c] + k]; }
    for (var r = 0u; r < RB; r++) {
      let vk = V[vs[r] + k];
      for (var c = 0u; c < TJ; c++) { acc[r][c] = fma(vk, wk[c], acc[r][c]); }
    }
  }
  return acc;
}

// 1 − h² as (1 − h)(1 + h): relative error of an ulp or two even where tanh saturates, unlike 1 − h·h.
fn slope(h: f32) -> f32 {
  return (1.0 - h) * (1.0 + h);
}

// Sums red[v·WG + t] over t into red[v·WG] for every v < NV·RB; every invocation of the workgroup calls it after
// writing its own values, and may read the sums when it returns.
fn tree(t: u32) {
  for (var step = WG / 2u; step > 0u; step >>= 1u) {
    workgroupBarrier();
    if (t < step) {
      for (var v = 0u; v < NV * RB; v++) { red[v * WG + t] += red[v * WG + t + step]; }
    }
  }
  workgroupBarrier();
}
