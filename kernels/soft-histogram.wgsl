// Soft histogram, stage 1: per-workgroup partial counts of u [n] over a slice of KB bins (the host reduces the
// [groups, bins] partials with reduce.wgsl, a deterministic tree, in a second dispatch).
// Element i takes part in bins nearest_i ± reach only (reach = ceil(8h/width): farther bins weigh < e^-32 of the
// nearest), a_ik = softmax over that window of −(u_i − c_k)²/(2h²). There are no float atomics in WGSL, so every
// invocation owns one row of a [KB, T] table in workgroup memory and adds its elements' assignments there; after
// the one barrier, invocation t sums bin t's row. Sums run in a fixed order: the result does not depend on timing.
// T (invocations) and KB (bins per workgroup slice) size the table, so they are consts set by the loader.
// #include common.wgsl
const T = 64u;
const KB = 64u;

// per_group: elements of one workgroup (x); the bin slice of workgroup y starts at y * KB.
struct Params { n: u32, bins: u32, reach: u32, per_group: u32, low: f32, width: f32, inv2h2: f32, _p: u32 }
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> U: array<f32>;
@group(0) @binding(2) var<storage, read_write> PARTIAL: array<f32>;

// table[k * T + t]: invocation t's count of bin k0 + k. Consecutive invocations hit consecutive words whatever
// their bins, so GPUs see no bank conflicts while accumulating.
var<workgroup> table: array<f32, KB * T>;

@compute @workgroup_size(T)
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let k0 = wid.y * KB;
  let kEnd = min(k0 + KB, P.bins);
  for (var k = 0u; k < KB; k++) { table[k * T + t] = 0.0; }
  let start = wid.x * P.per_group;
  let end = min(start + P.per_group, P.n);
  let last = f32(P.bins - 1u);
  for (var i = start + t; i < end; i += T) {
    let u = U[i];
    let nearest = u32(clamp(floor((u - P.low) / P.width), 0.0, last));
    let lo = select(0u, nearest - P.reach, nearest > P.reach);
    let hi = min(nearest + P.reach, P.bins - 1u);
    if (hi < k0 || lo >= kEnd) { continue; }
    // logit differences to the nearest bin, l_k − l_n = −(k−n)w·(2(c_n − u) + (k−n)w)/(2h²): no cancellation of
    // two large logits when u lies far outside the bins
    let twoOff = 2.0 * (P.low + (f32(nearest) + 0.5) * P.width - u);
    var z = 0.0;
    for (var k = lo; k <= hi; k++) {
      let dw = f32(i32(k) - i32(nearest)) * P.width;
      z += exp(-dw * (twoOff + dw) * P.inv2h2);
    }
    let invZ = 1.0 / z;
    for (var k = max(lo, k0); k <= min(hi, kEnd - 1u); k++) {
      let dw = f32(i32(k) - i32(nearest)) * P.width;
      let idx = (k - k0) * T + t;
      table[idx] += exp(-dw * (twoOff + dw) * P.inv2h2) * invZ;
    }
  }
  workgroupBarrier();
  for (var k = t; k < kEnd - k0; k += T) {
    // start each bin's row at a different column (staggered by the invocation) so GPU banks do not collide
    var s = 0.0;
    for (var j = 0u; j < T; j++) { s += table[k * T + ((j + t) & (T - 1u))]; }
    PARTIAL[wid.x * P.bins + k0 + k] = s;
  }
}
