// Elementwise unary maps and casts over a strided input, written densely. OP picks the function (see
// engine/backends/webgpu/kernels-elementwise.ts); TI/TO are replaced by the loader with the dtypes' WGSL types.
// #include common.wgsl
// #include scalar-math.wgsl
alias TI = f32;
alias TO = f32;
override OP: u32 = 0u;
override IS_FLOAT: bool = true;
override WG: u32 = 256u;
override DENSE_A: bool = false;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32, a: Layout }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> A: array<TI>;
@group(0) @binding(2) var<storage, read_write> O: array<TO>;

fn apply_op(x: TI) -> TO {
  // Float-only functions go through f32 so the file also compiles for integer TI (those OPs never run on it).
  let f = f32(x);
  switch OP {
    case 0u: {
      if (IS_FLOAT) { return TO(-f); }
      return TO(TI(0) - x);
    }
    case 1u: { return TO(exp(f)); }
    case 2u: { return TO(log(f)); }
    case 3u: { return TO(sqrt(f)); }
    case 4u: { return TO(1.0 / sqrt(f)); }
    case 5u: { return TO(tanh_safe(f)); }
    case 6u: { return TO(sigmoid(f)); }
    case 7u: {
      if (IS_FLOAT) { return TO(select(0.0, f, f > 0.0 || is_nan(f))); }
      return TO(select(TI(0), x, x > TI(0)));
    }
    case 8u: { return TO(abs(x)); }
    case 9u: { return TO(x * x); }
    case 10u: { return TO(erf(f)); }
    case 11u: {
      if (is_nan(f) || f == 0.0) { return TO(x); }
      return TO(sign(f));
    }
    case 12u: { return TO(0.5 * f * (1.0 + erf(f * 0.70710678118654752))); }
    case 13u: { return TO(0.5 * f * (1.0 + tanh_safe(0.79788456080286536 * (f + 0.044715 * f * f * f)))); }
    // cast: float -> int truncates toward zero (i32() does); the bits then wrap into 8-bit dtypes
    case 14u: { return TO(i32(x)); }
    default: { return TO(x); }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linear_id(gid, nwg, WG);
  if (i >= P.n) { return; }
  var ia = P.a.info.x + i;
  if (!DENSE_A) { ia = strided_index(P.a, i); }
  let v = apply_op(A[ia]);
  O[i] = bitcast<TO>(wrap_bits(bitcast<u32>(v)));
}
