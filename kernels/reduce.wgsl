// Reductions along any set of axes. The host splits the input into K (the kept axes, one output each) and R (the
// reduced axes): element j of output o lives at strided_index(K, o) + strided_index(R, j). Each op is a small
// state machine (accumulate / combine / finish) shared by the two variants:
//   main_rows:  one invocation per output (many outputs, or short rows);
//   main_group: one workgroup per output, a strided loop per invocation, then a tree in workgroup memory.
// #include common.wgsl
alias TI = f32;
alias TO = f32;
override OP: u32 = 0u;   // 0 sum, 1 mean, 2 max, 3 logsumexp, 4 var, 5 norm, 6 argmax
override WG: u32 = 64u;
override OUT_INT: bool = false;

struct Params { outer: u32, inner: u32, correction: f32, _p: u32, k: Layout, r: Layout }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> X: array<TI>;
@group(0) @binding(2) var<storage, read_write> O: array<TO>;

// a: sum / max / running max / Welford mean / best value; b: sum of exp / Welford M2; n: count; i: best index
struct State { a: f32, b: f32, n: f32, i: u32 }


fn init_state() -> State {
  switch OP {
    case 2u, 3u, 6u: { return State(neg_inf(), 0.0, 0.0, 0u); }
    default: { return State(0.0, 0.0, 0.0, 0u); }
  }
}

fn accumulate(s: State, x: f32, j: u32) -> State {
  var r = s;
  switch OP {
    case 0u, 1u: { r.a += x; }
    case 5u: { r.a += x * x; }
    case 2u: { if (!is_nan(r.a) && (x > r.a || is_nan(x))) { r.a = x; } }
    case 3u: {
      if (x > r.a) { r.b = r.b * exp(r.a - x) + 1.0; r.a = x; }
      else if (x != neg_inf()) { r.b += exp(x - r.a); }
    }
    case 4u: {
      r.n += 1.0;
      let d = x - r.a;
      r.a += d / r.n;
      r.b += d * (x - r.a);
    }
    default: {
      // argmax: the first maximum; NaN never wins except at position 0, where the reference never moves off it
      var v = x;
      if (is_nan(x)) { v = select(neg_inf(), pos_inf(), j == 0u); }
      if (v > r.a || (r.n == 0.0)) { r.a = v; r.i = j; r.n = 1.0; }
    }
  }
  return r;
}

fn combine(s: State, t: State) -> State {
  var r = s;
  switch OP {
    case 0u, 1u, 5u: { r.a = s.a + t.a; }
    case 2u: { if (!is_nan(r.a) && (t.a > r.a || is_nan(t.a))) { r.a = t.a; } }
    case 3u: {
      let m = max(s.a, t.a);
      if (m != neg_inf()) { r.b = s.b * exp(s.a - m) + t.b * exp(t.a - m); r.a = m; }
    }
    case 4u: {
      let n = s.n + t.n;
      if (t.n > 0.0) {
        let d = t.a - s.a;
        r.a = s.a + d * t.n / n;
        r.b = s.b + t.b + d * d * s.n * t.n / n;
        r.n = n;
      }
    }
    default: {
      if (t.n > 0.0 && (s.n == 0.0 || t.a > s.a || (t.a == s.a && t.i < s.i))) { r = t; }
    }
  }
  return r;
}

fn finish(s: State, count: u32) -> TO {
  switch OP {
    case 1u: { return TO(s.a / f32(count)); }
    case 3u: {
      if (s.a == neg_inf() || s.a == pos_inf()) { return TO(s.a); }
      return TO(s.a + log(s.b));
    }
    case 4u: { return TO(s.b / (f32(count) - P.correction)); }
    case 5u: { return TO(sqrt(s.a)); }
    case 6u: { return TO(i32(s.i)); }
    default: {
      if (OUT_INT) { return bitcast<TO>(wrap_bits(bitcast<u32>(TO(i32(s.a))))); }
      return TO(s.a);
    }
  }
}

@compute @workgroup_size(WG)
fn main_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = linear_id(gid, nwg, WG);
  if (o >= P.outer) { return; }
  let base = strided_index(P.k, o);
  var s = init_state();
  for (var j = 0u; j < P.inner; j++) {
    s = accumulate(s, f32(X[base + strided_index(P.r, j)]), j);
  }
  O[o] = finish(s, P.inner);
}

var<workgroup> sa: array<f32, WG>;
var<workgroup> sb: array<f32, WG>;
var<workgroup> sn: array<f32, WG>;
var<workgroup> si: array<u32, WG>;

@compute @workgroup_size(WG)
fn main_group(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = wid.x + wid.y * nwg.x;
  let t = lid.x;
  var s = init_state();
  if (o < P.outer) {
    let base = strided_index(P.k, o);
    for (var j = t; j < P.inner; j += WG) {
      s = accumulate(s, f32(X[base + strided_index(P.r, j)]), j);
    }
  }
  sa[t] = s.a; sb[t] = s.b; sn[t] = s.n; si[t] = s.i;
  for (var step = WG / 2u; step > 0u; step >>= 1u) {
    workgroupBarrier();
    if (t < step) {
      let m = combine(State(sa[t], sb[t], sn[t], si[t]), State(sa[t + step], sb[t + step], sn[t + step], si[t + step]));
      sa[t] = m.a; sb[t] = m.b; sn[t] = m.n; si[t] = m.i;
    }
  }
  if (t == 0u && o < P.outer) {
    O[o] = finish(State(sa[0], sb[0], sn[0], si[0]), P.inner);
  }
}
