// R = ẐᵀẐ/n for ZH = Ẑ [n, d] (correlation-stats.wgsl), each pair of columns computed once (a SYRK): columns are
// cut into blocks of TB and invocation t owns the block pair (bj ≤ bk) at position t = bk(bk + 1)/2 + bj of the
// upper triangle, so no invocation works below the diagonal. Register-blocked like matmul.wgsl (TB×TB
// accumulators, no workgroup memory). Every value is stored to R[r, c] and R[c, r] by the one invocation that
// computed it (in a diagonal block only its upper half stores), so R is exactly symmetric.
// Split K: workgroup row y sums rows [y·P.rows, (y + 1)·P.rows) of Ẑ into its own d×d slice of OUT; the host adds
// the slices in a fixed order (reduce.wgsl), so results do not depend on scheduling.
const TB = 4u;
override WG: u32 = 64u;

struct Params { n: u32, d: u32, pairs: u32, rows: u32, inv_n: f32, _p0: u32, _p1: u32, _p2: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ZH: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;

// (bj, bk) of triangle position t: bk from an f32 square root, then corrected by one either way (the root of
// 8t + 1 is inexact once that passes 2^24).
fn block_pair(t: u32) -> vec2u {
  var k = u32((sqrt(f32(8u * t + 1u)) - 1.0) * 0.5);
  if (k * (k + 1u) / 2u > t) { k -= 1u; }
  if ((k + 1u) * (k + 2u) / 2u <= t) { k += 1u; }
  return vec2u(t - k * (k + 1u) / 2u, k);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  if (gid.x >= P.pairs) { return; }
  let blocks = block_pair(gid.x);
  let row0 = blocks.x * TB;
  let col0 = blocks.y * TB;
  // ragged edges read a valid column and store nothing, as in matmul.wgsl
  var rj: array<u32, TB>;
  var ck: array<u32, TB>;
  for (var t = 0u; t < TB; t++) {
    rj[t] = min(row0 + t, P.d - 1u);
    ck[t] = min(col0 + t, P.d - 1u);
  }
  let i0 = wid.y * P.rows;
  let i1 = min(P.n, i0 + P.rows);
  var acc: array<array<f32, TB>, TB>;
  for (var i = i0; i < i1; i++) {
    let base = i * P.d;
    var a: array<f32, TB>;
    var b: array<f32, TB>;
    for (var t = 0u; t < TB; t++) {
      a[t] = ZH[base + rj[t]];
      b[t] = ZH[base + ck[t]];
    }
    for (var p = 0u; p < TB; p++) {
      for (var q = 0u; q < TB; q++) { acc[p][q] = fma(a[p], b[q], acc[p][q]); }
    }
  }
  let slice = wid.y * P.d * P.d;
  let diagonal = blocks.x == blocks.y;
  for (var p = 0u; p < TB; p++) {
    let r = row0 + p;
    if (r < P.d) {
      for (var q = 0u; q < TB; q++) {
        let c = col0 + q;
        if (c < P.d && (!diagonal || p <= q)) {
          let v = acc[p][q] * P.inv_n;
          OUT[slice + r * P.d + c] = v;
          OUT[slice + c * P.d + r] = v;
        }
      }
    }
  }
}
