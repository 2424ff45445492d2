// Casts to and from f16 storage, in integer arithmetic on the bit patterns. WGSL's own f32 -> f16 conversion rounds
// either way (implementation-defined) and leaves overflow indeterminate, and a shader may assume that no NaN or Inf
// occurs in float arithmetic; working on the bits gives the cpu reference's results exactly on every adapter:
// round to nearest even, overflow to ±Inf, subnormals, NaN kept NaN, ±0 kept. No f16 type is used, so this file
// needs no `enable f16`. Buffers are bound as 32-bit words: an f16 buffer holds element i in the low (i even) or
// high (i odd) half of word i / 2, little-endian as the host writes it; the f16 output is written a word at a time
// (two elements per invocation), so no two invocations share a word.
// #include common.wgsl
override WG: u32 = 256u;
// to_f16's source words: 0 f32 bits, 1 i32 (i32 and i8), 2 u32 (u8)
override SRC: u32 = 0u;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32, src: Layout }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> S: array<u32>;
@group(0) @binding(2) var<storage, read_write> D: array<u32>;

// f32 bits -> the nearest f16 bits (ties to even).
fn f16_bits(u: u32) -> u32 {
  let sign = (u >> 16u) & 0x8000u;
  let a = u & 0x7fffffffu;
  if (a > 0x7f800000u) { return sign | 0x7e00u | ((a >> 13u) & 0x3ffu); }  // NaN stays NaN (quiet bit set)
  if (a >= 0x477ff000u) { return sign | 0x7c00u; }  // >= 65520: ties to the even 2^16, which overflows: Inf
  if (a >= 0x38800000u) {
    // normal: rebias the exponent (127 -> 15) and round away 13 mantissa bits; a carry moves into the exponent
    let r = a - 0x38000000u;
    return sign | ((r + 0xfffu + ((r >> 13u) & 1u)) >> 13u);
  }
  if (a < 0x33000000u) { return sign; }  // below 2^-25 (half the smallest subnormal): ±0
  // subnormal: a = m·2^(e-150) with the 24-bit significand m; in 2^-24 steps that is m >> (126 - e), rounded
  let e = a >> 23u;
  let m = (a & 0x7fffffu) | 0x800000u;
  let s = 126u - e;
  var q = m >> s;
  let rem = m & ((1u << s) - 1u);
  let half = 1u << (s - 1u);
  if (rem > half || (rem == half && (q & 1u) == 1u)) { q += 1u; }
  return sign | q;  // q = 1024 is the smallest normal, 0x0400
}

// f16 bits -> f32 bits (exact: every half is an f32).
fn f32_bits(h: u32) -> u32 {
  let sign = (h & 0x8000u) << 16u;
  let e = (h >> 10u) & 0x1fu;
  let m = h & 0x3ffu;
  if (e == 31u) { return sign | 0x7f800000u | (m << 13u); }  // Inf, NaN (payload kept)
  if (e != 0u) { return sign | ((e + 112u) << 23u) | (m << 13u); }
  if (m == 0u) { return sign; }
  // subnormal m·2^-24: normalise, with k the position of m's leading bit (m = 2^k + rest, 0 <= k <= 9)
  let k = 31u - countLeadingZeros(m);
  return sign | ((k + 103u) << 23u) | ((m << (23u - k)) & 0x7fffffu);
}

fn source_bits(i: u32) -> u32 {
  let w = S[strided_index(P.src, i)];
  if (SRC == 1u) { return bitcast<u32>(f32(bitcast<i32>(w))); }
  if (SRC == 2u) { return bitcast<u32>(f32(w)); }
  return w;
}

// Output word w holds elements 2w and 2w + 1 (the high half stays 0 past the end).
@compute @workgroup_size(WG)
fn to_f16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = linear_id(gid, nwg, WG);
  let i = 2u * w;
  if (i >= P.n) { return; }
  var word = f16_bits(source_bits(i));
  if (i + 1u < P.n) { word |= f16_bits(source_bits(i + 1u)) << 16u; }
  D[w] = word;
}

// One f32 output per invocation; the source element is read from its word.
@compute @workgroup_size(WG)
fn from_f16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  let at = strided_index(P.src, i);
  D[i] = f32_bits((S[at >> 1u] >> ((at & 1u) * 16u)) & 0xffffu);
}
