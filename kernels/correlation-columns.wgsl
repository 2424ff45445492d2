// Column reductions shared by correlation-stats.wgsl and correlation-backward.wgsl: a workgroup owns CX columns of a
// dense [n, d] array and its RY invocations per column stride down the rows, then meet in a tree in workgroup
// memory, so long columns (N ≫ d) still spread over many invocations. Fixed order: deterministic.
const CX = 16u;
const RY = 16u;

var<workgroup> red: array<vec2f, CX * RY>;

// Sums red[y][x] over y into red[0][x]; every invocation of the workgroup calls it.
fn tree(x: u32, y: u32) {
  for (var step = RY / 2u; step > 0u; step >>= 1u) {
    workgroupBarrier();
    if (y < step) { red[y * CX + x] += red[(y + step) * CX + x]; }
  }
  workgroupBarrier();
}
