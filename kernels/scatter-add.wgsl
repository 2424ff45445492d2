// Row scatter-add: out[r, :] = sum of values[t, :] over t with idx[t] = r. WGSL has no float atomics, so each
// invocation owns one output element and loops over all indices in order: deterministic, and the same summation
// order as the cpu reference. Cost is rows × dim × n, fine for the vocabularies and batches this engine targets.
// #include common.wgsl
alias TI = i32;
override WG: u32 = 64u;

struct Params { n: u32, dim: u32, rows: u32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> IDX: array<TI>;
@group(0) @binding(2) var<storage, read> V: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<storage, read_write> STATUS: array<atomic<u32>>;
// #include status.wgsl

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.rows * P.dim) { return; }
  let r = i32(i / P.dim);
  let j = i % P.dim;
  var acc = 0.0;
  for (var t = 0u; t < P.n; t++) {
    let row = i32(IDX[t]);
    if (row == r) { acc += V[t * P.dim + j]; }
    if (i == 0u && (row < 0 || row >= i32(P.rows))) { report_index_error(row, t, P.rows); }
  }
  O[i] = acc;
}
