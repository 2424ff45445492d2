// The backward of an activation from its output: O = g·f′ with f′ from y (relu: [y > 0], tanh: 1 − y²,
// sigmoid: y(1 − y)), over two strided operands of the output's shape, written densely.
// #include common.wgsl
override WG: u32 = 256u;
// 1 relu, 2 tanh, 3 sigmoid
override ACT: u32 = 1u;
override DENSE_Y: bool = false;
override DENSE_G: bool = false;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32, y: Layout, g: Layout }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> Y: array<f32>;
@group(0) @binding(2) var<storage, read> G: array<f32>;
@group(0) @binding(3) var<storage, read_write> O: array<f32>;

fn slope(y: f32) -> f32 {
  switch ACT {
    case 1u: { return select(0.0, 1.0, y > 0.0); }
    case 2u: { return 1.0 - y * y; }
    default: { return y * (1.0 - y); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  var iy = P.y.info.x + i;
  if (!DENSE_Y) { iy = strided_index(P.y, i); }
  var ig = P.g.info.x + i;
  if (!DENSE_G) { ig = strided_index(P.g, i); }
  O[i] = G[ig] * slope(Y[iy]);
}
