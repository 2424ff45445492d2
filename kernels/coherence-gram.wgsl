// The Gram matrix of the standardised columns, G = ẐᵀẐ for ZH = Ẑ [n, d] (from coherence-stats.wgsl).
// Register-blocked like matmul.wgsl (TB×TB outputs per invocation, no workgroup memory): a product with A = Ẑᵀ,
// whose rows and columns both stream along Ẑ's rows.
// G is symmetric: only workgroups on or above the diagonal of workgroup tiles compute.
//   RESIDUAL = false (the loss): workgroups below the diagonal store 0 and those above count twice; the epilogue
//     sums w·(G/n − δ)²·scale over its block into OUT[invocation] (scale = 1/(d(d − 1))), and the host sums those
//     partials (reduce.wgsl) into the loss.
//   RESIDUAL = true (the backward): OUT = R − I = G/n − I, [d, d]; blocks above the diagonal store their mirror too.
// #include common.wgsl
const TB = 4u;
override WG: u32 = 8u;
override RESIDUAL: bool = false;

struct Params { n: u32, d: u32, inv_n: f32, scale: f32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ZH: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;

@compute @workgroup_size(WG, WG)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let slot = ((wid.y * nwg.x + wid.x) * WG + lid.y) * WG + lid.x;
  let row0 = (wid.y * WG + lid.y) * TB;
  let col0 = (wid.x * WG + lid.x) * TB;
  if (wid.x < wid.y || row0 >= P.d || col0 >= P.d) {
    if (!RESIDUAL) { OUT[slot] = 0.0; }
    return;
  }
  // ragged edges read a valid column and store nothing, as in matmul.wgsl
  var rj: array<u32, TB>;
  var cj: array<u32, TB>;
  for (var t = 0u; t < TB; t++) {
    rj[t] = min(row0 + t, P.d - 1u);
    cj[t] = min(col0 + t, P.d - 1u);
  }
  var acc: array<array<f32, TB>, TB>;
  for (var i = 0u; i < P.n; i++) {
    let base = i * P.d;
    var a: array<f32, TB>;
    var b: array<f32, TB>;
    for (var t = 0u; t < TB; t++) {
      a[t] = ZH[base + rj[t]];
      b[t] = ZH[base + cj[t]];
    }
    for (var p = 0u; p < TB; p++) {
      for (var q = 0u; q < TB; q++) { acc[p][q] = fma(a[p], b[q], acc[p][q]); }
    }
  }
  if (RESIDUAL) {
    for (var p = 0u; p < TB; p++) {
      let r = row0 + p;
      if (r < P.d) {
        for (var q = 0u; q < TB; q++) {
          let c = col0 + q;
          if (c < P.d) {
            let e = acc[p][q] * P.inv_n - select(0.0, 1.0, r == c);
            OUT[r * P.d + c] = e;
            if (wid.x > wid.y) { OUT[c * P.d + r] = e; }
          }
        }
      }
    }
    return;
  }
  var total = 0.0;
  for (var p = 0u; p < TB; p++) {
    let r = row0 + p;
    for (var q = 0u; q < TB; q++) {
      let c = col0 + q;
      let e = acc[p][q] * P.inv_n - select(0.0, 1.0, r == c);
      total += select(0.0, e * e, r < P.d && c < P.d);
    }
  }
  OUT[slot] = total * P.scale * select(1.0, 2.0, wid.x > wid.y);
}
