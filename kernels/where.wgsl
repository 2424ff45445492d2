// cond ? a : b over three strided operands; the condition is u8 (a u32 word per element).
// #include common.wgsl
alias T = f32;
override WG: u32 = 256u;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32, c: Layout, a: Layout, b: Layout }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> C: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<T>;
@group(0) @binding(3) var<storage, read> B: array<T>;
@group(0) @binding(4) var<storage, read_write> O: array<T>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  let c = C[strided_index(P.c, i)];
  O[i] = select(B[strided_index(P.b, i)], A[strided_index(P.a, i)], c != 0u);
}
