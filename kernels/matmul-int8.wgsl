// x [m, k] · (wq·ws)ᵀ → O [m, n] with int8 weights wq [n, k] and per-output-channel scales ws [n]. Register-blocked
// like matmul.wgsl (TM×TN outputs per invocation, no workgroup memory). W holds the weights as packed i8x4 words,
// transposed [k4, n] (matmul-int8-quantize.wgsl: pack_weights), so neighbouring invocations read neighbouring words
// and each word carries four k steps.
//   main_f32:  A = x, dense f32 bits [m, k]: O = ws·Σ x·wq with f32 sums.
//   main_int8: A = x's codes as packed words [m, k4] and SX the row scales (matmul-int8-quantize.wgsl: rows):
//              O = (SX·ws)·Σ codes·wq with the Σ in i32, exact (|Σ| ≤ 127·128·k). An all-zero row gives 0.
// dot4(a, b), the signed dot product of two packed words, comes from the file that includes this one:
// matmul-int8-dot4.wgsl (dot4I8Packed) or matmul-int8-unpacked.wgsl (byte arithmetic).
// #include common.wgsl
const TM = 4u;
const TN = 4u;
override WGX: u32 = 8u;
override WGY: u32 = 8u;

struct Params { m: u32, n: u32, k: u32, k4: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<u32>;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read> WS: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;
@group(0) @binding(5) var<storage, read> SX: array<f32>;

// The four signed bytes of a word.
fn bytes4(w: u32) -> vec4i {
  return vec4i(bitcast<i32>(w << 24u), bitcast<i32>(w << 16u), bitcast<i32>(w << 8u), bitcast<i32>(w)) >> vec4u(24u);
}

// Ragged edges read a valid row / column and store nothing, as in matmul.wgsl.
fn clamped_cols(col0: u32) -> array<u32, TN> {
  var c: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { c[j] = min(col0 + j, P.n - 1u); }
  return c;
}

@compute @workgroup_size(WGX, WGY)
fn main_f32(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * TN;
  let row0 = gid.y * TM;
  if (col0 >= P.n || row0 >= P.m) { return; }
  var aRow: array<u32, TM>;
  for (var i = 0u; i < TM; i++) { aRow[i] = min(row0 + i, P.m - 1u) * P.k; }
  let col = clamped_cols(col0);
  let last = P.k - 1u;
  var acc: array<array<f32, TN>, TM>;
  for (var q = 0u; q < P.k4; q++) {
    var w: array<u32, TN>;
    for (var j = 0u; j < TN; j++) { w[j] = W[q * P.n + col[j]]; }
    for (var s = 0u; s < 4u; s++) {
      // the tail word's padding bytes are 0; clamping the index keeps those x reads inside the row
      let p = min(4u * q + s, last);
      var a: array<f32, TM>;
      for (var i = 0u; i < TM; i++) { a[i] = bitcast<f32>(A[aRow[i] + p]); }
      var b: array<f32, TN>;
      for (var j = 0u; j < TN; j++) { b[j] = f32(bitcast<i32>(w[j] << (24u - 8u * s)) >> 24u); }
      for (var i = 0u; i < TM; i++) {
        for (var j = 0u; j < TN; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let r = row0 + i;
    if (r < P.m) {
      for (var j = 0u; j < TN; j++) {
        let c = col0 + j;
        if (c < P.n) { O[r * P.n + c] = WS[c] * acc[i][j]; }
      }
    }
  }
}

@compute @workgroup_size(WGX, WGY)
fn main_int8(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * TN;
  let row0 = gid.y * TM;
  if (col0 >= P.n || row0 >= P.m) { return; }
  var aRow: array<u32, TM>;
  for (var i = 0u; i < TM; i++) { aRow[i] = min(row0 + i, P.m - 1u) * P.k4; }
  let col = clamped_cols(col0);
  var acc: array<array<i32, TN>, TM>;
  for (var q = 0u; q < P.k4; q++) {
    var a: array<u32, TM>;
    for (var i = 0u; i < TM; i++) { a[i] = A[aRow[i] + q]; }
    var b: array<u32, TN>;
    for (var j = 0u; j < TN; j++) { b[j] = W[q * P.n + col[j]]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i][j] += dot4(a[i], b[j]); }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let r = row0 + i;
    if (r < P.m) {
      let sx = SX[r];
      for (var j = 0u; j < TN; j++) {
        let c = col0 + j;
        if (c < P.n) { O[r * P.n + c] = select((sx * WS[c]) * f32(acc[i][j]), 0.0, sx == 0.0); }
      }
    }
  }
}
