// Strided copy: element k (row-major over src's shape) goes from src's layout to dst's layout. One kernel serves
// contiguous() (dst dense), concat (dst = the slab of the output along the axis) and pad (dst = the interior).
// #include common.wgsl
alias T = f32;
override WG: u32 = 256u;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32, src: Layout, dst: Layout }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> S: array<T>;
@group(0) @binding(2) var<storage, read_write> D: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  D[strided_index(P.dst, i)] = S[strided_index(P.src, i)];
}
