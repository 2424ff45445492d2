// Batched matmul C[b] = A[b] · B[b] with register blocking and no workgroup memory: each invocation keeps a TM×TN
// block of C in registers and streams its TM rows of A and TN columns of B along k. Workgroup memory and barriers
// are slow on CPU Vulkan (lavapipe), and GPUs still get TM·TN-fold reuse from registers. Operands are read through
// their strides, so transposed views need no copy. TM, TN (consts: they size arrays) and the workgroup shape are
// set by the loader per variant.
// The `linear` op reuses this kernel with an epilogue applied as each accumulator is stored: + bias[c] (HAS_BIAS),
// then an activation (ACT). Both default to off, so plain matmul stores the accumulators unchanged.
// #include common.wgsl
// #include scalar-math.wgsl
// The operands' element type: f32, or f16 for matmul-f16.wgsl (f16 storage, f32 accumulation: each element is
// widened as it is loaded, a no-op for f32).
alias TA = f32;
const TM = 4u;
const TN = 4u;
override WGX: u32 = 16u;
override WGY: u32 = 4u;
override HAS_BIAS: bool = false;
// 0 none, 1 relu, 2 tanh, 3 sigmoid
override ACT: u32 = 0u;

// rs/cs: row and column strides of A and B; batch: the batch axes of each operand (offset = matrix offset).
// bias_at / bias_stride: where bias element c lives (bias_at + c·bias_stride), read only when HAS_BIAS.
struct Params {
  m: u32, n: u32, k: u32, batches: u32, ars: u32, acs: u32, brs: u32, bcs: u32, ba: Layout, bb: Layout,
  bias_at: u32, bias_stride: u32,
}
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<TA>;
@group(0) @binding(2) var<storage, read> B: array<TA>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
// Plain matmul binds any read-only buffer here (the pipeline layout is derived from the source, which names it).
@group(0) @binding(4) var<storage, read> BIAS: array<f32>;

// relu matches the reference's z > 0 ? z : 0 (NaN becomes 0); tanh and sigmoid use the overflow-safe forms.
fn epilogue(z: f32, c: u32) -> f32 {
  var v = z;
  if (HAS_BIAS) { v += BIAS[P.bias_at + c * P.bias_stride]; }
  switch ACT {
    case 1u: { v = select(0.0, v, v > 0.0 || is_nan(v)); }  // NaN passes through, like the relu op
    case 2u: { v = tanh_safe(v); }
    case 3u: { v = sigmoid(v); }
    default: {}
  }
  return v;
}

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * TN;
  let row0 = gid.y * TM;
  let batch = gid.z;
  if (col0 >= P.n || row0 >= P.m) { return; }
  let aBase = strided_index(P.ba, batch);
  let bBase = strided_index(P.bb, batch);
  // Out-of-range rows/columns of a ragged edge read a valid row/column and are not stored: no branch in the k loop.
  var aRow: array<u32, TM>;
  for (var i = 0u; i < TM; i++) { aRow[i] = aBase + min(row0 + i, P.m - 1u) * P.ars; }
  var bCol: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { bCol[j] = bBase + min(col0 + j, P.n - 1u) * P.bcs; }
  var acc: array<array<f32, TN>, TM>;
  for (var p = 0u; p < P.k; p++) {
    var a: array<f32, TM>;
    for (var i = 0u; i < TM; i++) { a[i] = f32(A[aRow[i] + p * P.acs]); }
    var b: array<f32, TN>;
    let bk = p * P.brs;
    for (var j = 0u; j < TN; j++) { b[j] = f32(B[bCol[j] + bk]); }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
    }
  }
  let cBase = batch * P.m * P.n;
  for (var i = 0u; i < TM; i++) {
    let r = row0 + i;
    if (r < P.m) {
      for (var j = 0u; j < TN; j++) {
        let c = col0 + j;
        if (c < P.n) { C[cBase + r * P.n + c] = epilogue(acc[i][j], c); }
      }
    }
  }
}
