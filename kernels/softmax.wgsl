// softmax / logSoftmax along one axis of a dense tensor: one invocation per line (outer × inner lines of `len`
// elements, `inner` apart). Three passes over the line: max, sum of exp, write.
// #include common.wgsl
override LOG: bool = false;
override WG: u32 = 64u;

struct Params { outer: u32, len: u32, inner: u32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> O: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let line = linear_id(gid, nwg, WG);
  if (line >= P.outer * P.inner) { return; }
  let s = (line / P.inner) * P.len * P.inner + line % P.inner;
  var m = neg_inf();
  for (var j = 0u; j < P.len; j++) { m = max(m, X[s + j * P.inner]); }
  var z = 0.0;
  for (var j = 0u; j < P.len; j++) { z += exp(X[s + j * P.inner] - m); }
  let lse = m + log(z);
  // softmax as exp(x − m)/z, not exp(x − lse): lse carries an absolute rounding error of about 1 ulp of m, which
  // exp(x − lse) turns into a relative error of the output (large for lines whose logits are all far below 0)
  let inv = 1.0 / z;
  for (var j = 0u; j < P.len; j++) {
    let x = X[s + j * P.inner];
    O[s + j * P.inner] = select(exp(x - m) * inv, x - lse, LOG);
  }
}
