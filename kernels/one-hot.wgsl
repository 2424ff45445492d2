// out[i, c] = (idx[i] == c) in the output dtype; one invocation per output element.
// #include common.wgsl
alias TI = i32;
alias TO = f32;
override WG: u32 = 256u;

struct Params { n: u32, classes: u32, _p0: u32, _p1: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> IDX: array<TI>;
@group(0) @binding(2) var<storage, read_write> O: array<TO>;
@group(0) @binding(3) var<storage, read_write> STATUS: array<atomic<u32>>;
// #include status.wgsl

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n * P.classes) { return; }
  let t = i / P.classes;
  let c = i32(i % P.classes);
  let v = i32(IDX[t]);
  if (c == 0 && (v < 0 || v >= i32(P.classes))) { report_index_error(v, t, P.classes); }
  O[i] = TO(select(0u, 1u, v == c));
}
