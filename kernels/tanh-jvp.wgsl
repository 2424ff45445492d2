// The Jacobian-vector step of a tanh layer h = tanh(x Wᵀ + c): O = (1 − H²) ⊙ (V Wᵀ) for dense H [b, out],
// V [b, in], W [out, in]. Register-blocked like matmul.wgsl (TM×TN outputs per invocation, no workgroup memory);
// rows of V and of W both stream along `in`, and the (1 − h²) factor is applied in the epilogue.
// #include common.wgsl
const TM = 4u;
const TN = 4u;
override WGX: u32 = 8u;
override WGY: u32 = 8u;

struct Params { m: u32, n: u32, k: u32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> H: array<f32>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read> W: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

@compute @workgroup_size(WGX, WGY)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let col0 = gid.x * TN;
  let row0 = gid.y * TM;
  if (col0 >= P.n || row0 >= P.m) { return; }
  // ragged edges read a valid row / column and store nothing, as in matmul.wgsl
  var vRow: array<u32, TM>;
  for (var i = 0u; i < TM; i++) { vRow[i] = min(row0 + i, P.m - 1u) * P.k; }
  var wRow: array<u32, TN>;
  for (var j = 0u; j < TN; j++) { wRow[j] = min(col0 + j, P.n - 1u) * P.k; }
  var acc: array<array<f32, TN>, TM>;
  for (var p = 0u; p < P.k; p++) {
    var a: array<f32, TM>;
    for (var i = 0u; i < TM; i++) { a[i] = V[vRow[i] + p]; }
    var b: array<f32, TN>;
    for (var j = 0u; j < TN; j++) { b[j] = W[wRow[j] + p]; }
    for (var i = 0u; i < TM; i++) {
      for (var j = 0u; j < TN; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
    }
  }
  for (var i = 0u; i < TM; i++) {
    let r = row0 + i;
    if (r < P.m) {
      for (var j = 0u; j < TN; j++) {
        let c = col0 + j;
        if (c < P.n) {
          let h = H[r * P.n + c];
          O[r * P.n + c] = (1.0 - h * h) * acc[i][j];
        }
      }
    }
  }
}
