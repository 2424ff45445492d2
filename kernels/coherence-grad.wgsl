// Backward of the coherence loss, the product step: D = s·Ẑ(R − I) for ZH = Ẑ [n, d] (coherence-stats.wgsl),
// M = R − I [d, d] (coherence-gram.wgsl with RESIDUAL) and s = G[0]·c, c = 4/(n·d(d − 1)), G the loss's cotangent.
// Register-blocked like matmul.wgsl (TM×TN outputs per invocation). coherence-backward.wgsl then turns D into dz in
// place.
// #include common.wgsl
const TM = 4u;
const TN = 4u;
override WGX: u32 = 8u;
override WGY: u32 = 8u;

struct Params { n: u32, d: u32, c: f32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> ZH: array<f32>;
@group(0) @binding(2) var<storage, read> M: array<f32>;
@group(0) @binding(3) var<storage, read> G: array<f32>;
@group(0) @binding(4) var<storage, read_write> D: array<f32>;

// y strides over row blocks: a capped grid covers any n.
@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let col0 = gid.x * TN;
  if (col0 >= P.d) { return; }
  var col: array<u32, TN>;
  for (var q = 0u; q < TN; q++) { col[q] = min(col0 + q, P.d - 1u); }
  let s = G[0] * P.c;
  for (var row0 = gid.y * TM; row0 < P.n; row0 += nwg.y * WGY * TM) {
    var rowBase: array<u32, TM>;
    for (var p = 0u; p < TM; p++) { rowBase[p] = min(row0 + p, P.n - 1u) * P.d; }
    var acc: array<array<f32, TN>, TM>;
    for (var j = 0u; j < P.d; j++) {
      var a: array<f32, TM>;
      for (var p = 0u; p < TM; p++) { a[p] = ZH[rowBase[p] + j]; }
      var b: array<f32, TN>;
      let mBase = j * P.d;
      for (var q = 0u; q < TN; q++) { b[q] = M[mBase + col[q]]; }
      for (var p = 0u; p < TM; p++) {
        for (var q = 0u; q < TN; q++) { acc[p][q] = fma(a[p], b[q], acc[p][q]); }
      }
    }
    for (var p = 0u; p < TM; p++) {
      let i = row0 + p;
      if (i < P.n) {
        for (var q = 0u; q < TN; q++) {
          let k = col0 + q;
          if (k < P.d) { D[i * P.d + k] = acc[p][q] * s; }
        }
      }
    }
  }
}
