// Row gather: out[i, :] = W[idx[i], :] for dense W [rows, dim] and dense indices; one invocation per output element.
// #include common.wgsl
alias TI = i32;
override WG: u32 = 256u;

struct Params { n: u32, dim: u32, rows: u32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> IDX: array<TI>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;
@group(0) @binding(4) var<storage, read_write> STATUS: array<atomic<u32>>;
// #include status.wgsl

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n * P.dim) { return; }
  let t = i / P.dim;
  let row = i32(IDX[t]);
  if (row < 0 || row >= i32(P.rows)) {
    if (i % P.dim == 0u) { report_index_error(row, t, P.rows); }
    O[i] = 0.0;
    return;
  }
  O[i] = W[u32(row) * P.dim + i % P.dim];
}
