// Operands of the int8 matmul as packed i8x4 words (byte b of a word holds element 4q + b of its row, two's
// complement; the tail of a row is zero-filled). WGSL has no 8-bit storage: i8 tensors arrive one value per word.
//   rows:         dense x [m, k] f32 → PACKED [m, k4] codes clamp(round(x·inv), ±127), inv = 127/amax, and
//                 SCALES[row] = amax/127 (0 for an all-zero row, whose codes are 0). One workgroup per row.
//   pack_weights: dense wq [n, k] (i32 words) → PACKED [k4, n], transposed: word q of output channel c at q·n + c,
//                 so the matmul's neighbouring invocations (neighbouring channels) read neighbouring words.
// SRC holds raw bits: f32 activations for rows, i32 weights for pack_weights.
// #include common.wgsl
override WG: u32 = 64u;

struct Params { rows: u32, k: u32, k4: u32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> SRC: array<u32>;
@group(0) @binding(2) var<storage, read_write> PACKED: array<u32>;
@group(0) @binding(3) var<storage, read_write> SCALES: array<f32>;

var<workgroup> red: array<f32, WG>;

fn pack4(v: vec4i) -> u32 {
  let b = vec4u(v) & vec4u(255u);
  return b.x | (b.y << 8u) | (b.z << 16u) | (b.w << 24u);
}

// 127/a correctly rounded, for positive a. WGSL lets `/` be 2.5 ulp off and does not promise fused fma, and one
// ulp of inv moves the codes of values that sit on a rounding tie, so the quotient comes from an integer long
// division of 127 by a's 24-bit significand (once per row): the same bits as the reference's Math.fround(127 / a)
// on every device. Subnormal, infinite and NaN a (and quotients outside the normal range) take the float path.
fn inv_scale(a: f32) -> f32 {
  let bits = bitcast<u32>(a);
  let e = bits >> 23u;
  if (e == 0u || e >= 255u) { return 127.0 / a; }
  let m = (bits & 0x7fffffu) | 0x800000u;
  // q = floor(127·2^t / m) for the first t where q has 24 bits; r the remainder (r < m < 2^24, so 2r fits)
  var q = 0u;
  var r = 127u;
  var t = 0i;
  loop {
    if (q >= 0x800000u) { break; }
    r <<= 1u;
    q <<= 1u;
    t += 1;
    if (r >= m) {
      r -= m;
      q |= 1u;
    }
  }
  let twice = r << 1u;
  if (twice > m || (twice == m && (q & 1u) == 1u)) { q += 1u; }
  // 127/a = q·2^k with a = m·2^(e − 150)
  var k = 150 - i32(e) - t;
  if (q == 0x1000000u) {
    q = 0x800000u;
    k += 1;
  }
  let biased = k + 150;
  if (biased <= 0 || biased >= 255) { return 127.0 / a; }
  return bitcast<f32>((u32(biased) << 23u) | (q & 0x7fffffu));
}

@compute @workgroup_size(WG)
fn rows(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= P.rows) { return; }
  let base = row * P.k;
  var m = 0.0;
  for (var p = lid.x; p < P.k; p += WG) { m = max(m, abs(bitcast<f32>(SRC[base + p]))); }
  red[lid.x] = m;
  for (var step = WG / 2u; step > 0u; step >>= 1u) {
    workgroupBarrier();
    if (lid.x < step) { red[lid.x] = max(red[lid.x], red[lid.x + step]); }
  }
  workgroupBarrier();
  let amax = red[0];
  let inv = select(inv_scale(amax), 0.0, amax == 0.0);
  if (lid.x == 0u) { SCALES[row] = amax / 127.0; }
  for (var q = lid.x; q < P.k4; q += WG) {
    var v = vec4f(0.0);
    for (var b = 0u; b < 4u; b++) {
      let p = 4u * q + b;
      if (p < P.k) { v[b] = bitcast<f32>(SRC[base + p]); }
    }
    // round() is round-half-to-even, as the reference's roundHalfEven
    PACKED[row * P.k4 + q] = pack4(vec4i(clamp(round(v * inv), vec4f(-127.0), vec4f(127.0))));
  }
}

// x: output channel (invocations of a workgroup side by side), y: word; a capped grid strides over the words.
@compute @workgroup_size(WG)
fn pack_weights(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x;
  if (c >= P.rows) { return; }
  for (var q = gid.y; q < P.k4; q += nwg.y) {
    var v = vec4i(0);
    for (var b = 0u; b < 4u; b++) {
      let p = 4u * q + b;
      if (p < P.k) { v[b] = bitcast<i32>(SRC[c * P.k + p]); }
    }
    PACKED[q * P.rows + c] = pack4(v);
  }
}
