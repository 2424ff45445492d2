// Shared helpers, pulled into a kernel by the loader's `// #include common.wgsl` line.

// A strided operand: up to 8 axes (the host merges mergeable axes first), element strides and offset, and the
// reciprocals of the axis sizes. info = (offset, rank, dense flag, fast-division flag). 112 bytes (a multiple of 16).
struct Layout {
  shape: array<vec4u, 2>,
  strides: array<vec4u, 2>,
  inv: array<vec4f, 2>,
  info: vec4u,
}

// x / n through an f32 reciprocal: integer division does not vectorise on CPUs (lavapipe runs 8 invocations per
// SIMD register and would do 8 scalar divides). Exact for x < 2^22 after one correction each way.
fn div_fast(x: u32, n: u32, inv: f32) -> u32 {
  var q = u32(f32(x) * inv);
  if (q * n > x) { q -= 1u; }
  if ((q + 1u) * n <= x) { q += 1u; }
  return q;
}

// The storage index of the element at row-major position `flat` of the layout's shape.
fn strided_index(l: Layout, flat: u32) -> u32 {
  if (l.info.z == 1u) {
    return l.info.x + flat;
  }
  let rank = l.info.y;
  if (rank == 1u) {
    return l.info.x + flat * l.strides[0].x;
  }
  var rem = flat;
  var idx = l.info.x;
  var d = rank - 1u;
  // axes rank-1 … 1 need a division each; axis 0 takes what is left
  loop {
    if (d == 0u) { break; }
    let n = l.shape[d >> 2u][d & 3u];
    var q: u32;
    if (l.info.w == 1u) { q = div_fast(rem, n, l.inv[d >> 2u][d & 3u]); } else { q = rem / n; }
    idx += (rem - q * n) * l.strides[d >> 2u][d & 3u];
    rem = q;
    d -= 1u;
  }
  return idx + rem * l.strides[0].x;
}

// Global linear invocation id of a 1-D launch that may spill into y (more than 65535 workgroups).
fn linear_id(gid: vec3u, nwg: vec3u, wg: u32) -> u32 {
  return gid.x + gid.y * nwg.x * wg;
}

fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

// Integer results in 8-bit dtypes wrap like a store into a Uint8Array / Int8Array (u8/i8 live in 32-bit words).
override WRAP: u32 = 0u;
fn wrap_bits(v: u32) -> u32 {
  if (WRAP == 1u) { return v & 255u; }
  if (WRAP == 2u) { return bitcast<u32>((bitcast<i32>(v) << 24u) >> 24u); }
  return v;
}

// Infinities and NaN as runtime values: WGSL's constant evaluation rejects them in const expressions.
var<private> INF_BITS: u32 = 0x7f800000u;
fn pos_inf() -> f32 { return bitcast<f32>(INF_BITS); }
fn neg_inf() -> f32 { return -bitcast<f32>(INF_BITS); }
fn nan_f32() -> f32 { return bitcast<f32>(INF_BITS | 0x400000u); }
