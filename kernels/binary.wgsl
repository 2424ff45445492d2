// Elementwise binary ops over two strided operands of the output's shape (broadcasting arrives as stride-0 axes).
// Arithmetic keeps T; comparisons write u8 (0/1 in a u32 word). TO is f32/i32/u32 as the op's output needs.
// #include common.wgsl
alias T = f32;
alias TO = f32;
override OP: u32 = 0u;
override IS_FLOAT: bool = true;
override WG: u32 = 256u;
// dense operands index as offset + i, known at pipeline creation so the div/mod chain compiles away
override DENSE_A: bool = false;
override DENSE_B: bool = false;
// a broadcast scalar (every stride 0) is one uniform address: a single load instead of a per-invocation gather
override SCALAR_A: bool = false;
override SCALAR_B: bool = false;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32, a: Layout, b: Layout }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<T>;
@group(0) @binding(2) var<storage, read> B: array<T>;
@group(0) @binding(3) var<storage, read_write> O: array<TO>;

fn either_nan(a: T, b: T) -> bool {
  return IS_FLOAT && (is_nan(f32(a)) || is_nan(f32(b)));
}

fn apply_op(a: T, b: T) -> TO {
  switch OP {
    case 0u: { return TO(a + b); }
    case 1u: { return TO(a - b); }
    case 2u: { return TO(a * b); }
    case 3u: { return TO(f32(a) / f32(b)); }
    case 4u: { return TO(pow_ieee(f32(a), f32(b))); }
    case 5u: { if (either_nan(a, b)) { return TO(f32(a) + f32(b)); } return TO(max(a, b)); }
    case 6u: { if (either_nan(a, b)) { return TO(f32(a) + f32(b)); } return TO(min(a, b)); }
    case 7u: { return TO(select(0u, 1u, a == b)); }
    case 8u: { return TO(select(0u, 1u, a != b)); }
    case 9u: { return TO(select(0u, 1u, a < b)); }
    case 10u: { return TO(select(0u, 1u, a <= b)); }
    case 11u: { return TO(select(0u, 1u, a > b)); }
    default: { return TO(select(0u, 1u, a >= b)); }
  }
}

// Math.pow semantics where WGSL's pow (exp2(b*log2(a))) is undefined: a <= 0, b = 0, integer exponents.
fn pow_ieee(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (is_nan(a) || is_nan(b)) { return a + b; }
  if (a == 0.0) {
    if (b > 0.0) { return select(0.0, a, fract(b * 0.5) != 0.0 && fract(b) == 0.0); }
    return pos_inf();
  }
  let m = pow(abs(a), b);
  if (a > 0.0) { return m; }
  if (fract(b) != 0.0) { return nan_f32(); }
  return select(m, -m, fract(b * 0.5) != 0.0);
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  var ia = P.a.info.x;
  if (DENSE_A) { ia += i; } else if (!SCALAR_A) { ia = strided_index(P.a, i); }
  var ib = P.b.info.x;
  if (DENSE_B) { ib += i; } else if (!SCALAR_B) { ib = strided_index(P.b, i); }
  let v = apply_op(A[ia], B[ib]);
  O[i] = bitcast<TO>(wrap_bits(bitcast<u32>(v)));
}
