#include "strided.h"

#include <algorithm>

#include "thread-pool.h"

namespace eitp {

namespace {

// One row of `last` elements from p (consecutive elements ls apart) to o. Short contiguous rows (attention heads: 16
// floats) by an inline loop: a memcpy call per row cost more than the copy.
template <typename T>
inline void copyRow(T* o, const T* p, int64_t last, int64_t ls) {
  if (ls == 1 && last * static_cast<int64_t>(sizeof(T)) > 256) {
    std::memcpy(o, p, sizeof(T) * last);
  } else if (ls == 1) {
    for (int64_t j = 0; j < last; j++) o[j] = p[j];
  } else {
    for (int64_t j = 0; j < last; j++) o[j] = p[j * ls];
  }
}

// Where gathered rows go: rowsPerBlock rows of `last` elements back to back, then the next block `pitch` elements
// after the start of this one (pitch = rowsPerBlock·last: one dense array).
struct RowBlocks {
  int64_t rowsPerBlock, pitch;
};

// The destination of rows from `row` on, stepped one row at a time.
template <typename T>
struct RowCursor {
  T* o;
  int64_t inBlock;
  int64_t last;
  RowBlocks blocks;
  RowCursor(T* out, int64_t row, int64_t last, RowBlocks b)
      : o(out + row / b.rowsPerBlock * b.pitch + row % b.rowsPerBlock * last), inBlock(row % b.rowsPerBlock), last(last), blocks(b) {}
  void next() {
    o += last;
    if (++inBlock == blocks.rowsPerBlock) {
      inBlock = 0;
      o += blocks.pitch - blocks.rowsPerBlock * last;
    }
  }
};

// Copies rows [rowBegin, rowEnd) of the operand (rows = all axes but the last) to their places in out: runs of rows
// along the second-to-last axis by a plain stride, the leading axes' counters stepped once per run.
template <typename T>
void gatherRows(const Arg& a, T* out, int64_t rowBegin, int64_t rowEnd, RowBlocks blocks) {
  const int rank = a.rank();
  const T* src = static_cast<const T*>(a.data);
  const int64_t last = a.shape[rank - 1];
  const int64_t ls = a.strides[rank - 1];
  RowCursor<T> o(out, rowBegin, last, blocks);
  if (rank == 1) {
    if (rowEnd > rowBegin) copyRow(o.o, src + a.offset, last, ls);
    return;
  }
  const int64_t runLen = a.shape[rank - 2], runStride = a.strides[rank - 2];
  // Position of the first row: decompose rowBegin over the leading axes.
  std::vector<int64_t> idx(rank, 0);
  int64_t pos = a.offset;
  int64_t rem = rowBegin;
  for (int d = rank - 2; d >= 0; d--) {
    idx[d] = rem % a.shape[d];
    rem /= a.shape[d];
    pos += idx[d] * a.strides[d];
  }
  for (int64_t r = rowBegin; r < rowEnd;) {
    // the rest of the current run along axis rank − 2
    const int64_t n = std::min(runLen - idx[rank - 2], rowEnd - r);
    const T* p = src + pos;
    for (int64_t k = 0; k < n; k++, o.next()) copyRow(o.o, p + k * runStride, last, ls);
    r += n;
    if (r == rowEnd) break;
    // next run: axis rank − 2 back to 0, the axes before it counted up
    pos -= idx[rank - 2] * runStride;
    idx[rank - 2] = 0;
    for (int d = rank - 3; d >= 0; d--) {
      idx[d]++;
      pos += a.strides[d];
      if (idx[d] < a.shape[d]) break;
      pos -= a.strides[d] * a.shape[d];
      idx[d] = 0;
    }
  }
}

// The last two axes swapped (stride 1 on the second-to-last, as a transposed view): copy in 32 x 32 tiles so both
// the reads and the writes stay within a few cache lines. blocks = product of the leading axes; each [rows, cols]
// matrix lies within one destination block (the caller checks), at its place there.
template <typename T>
void gatherTransposed(const Arg& a, T* out, RowBlocks dest, ThreadPool& pool) {
  const int rank = a.rank();
  const int64_t rows = a.shape[rank - 2], cols = a.shape[rank - 1];
  const int64_t cs = a.strides[rank - 1];  // distance between consecutive output columns in the source
  int64_t blocks = 1;
  for (int d = 0; d < rank - 2; d++) blocks *= a.shape[d];
  const int64_t rowTiles = (rows + 31) / 32;
  const T* src = static_cast<const T*>(a.data);
  pool.parallelRange(blocks * rowTiles, 1, [&](int64_t b, int64_t e) {
    for (int64_t item = b; item < e; item++) {
      const int64_t blk = item / rowTiles, i0 = (item % rowTiles) * 32;
      int64_t base = a.offset, rem = blk;
      for (int d = rank - 3; d >= 0; d--) {
        base += (rem % a.shape[d]) * a.strides[d];
        rem /= a.shape[d];
      }
      const int64_t i1 = std::min(rows, i0 + 32);
      T* o = RowCursor<T>(out, blk * rows, cols, dest).o;
      for (int64_t j0 = 0; j0 < cols; j0 += 32) {
        const int64_t j1 = std::min(cols, j0 + 32);
        for (int64_t j = j0; j < j1; j++) {
          const T* col = src + base + j * cs;
          for (int64_t i = i0; i < i1; i++) o[i * cols + j] = col[i];
        }
      }
    }
  });
}

}  // namespace

void gather(const Arg& a, void* out, ThreadPool& pool) {
  const int64_t n = a.numel();
  if (n == 0) return;
  if (a.rank() == 0) {
    const size_t sz = itemSize(a.dtype);
    std::memcpy(out, static_cast<const char*>(a.data) + a.offset * sz, sz);
    return;
  }
  gatherBlocks(a, out, n, n, pool);
}

void gatherBlocks(const Arg& a, void* out, int64_t block, int64_t pitch, ThreadPool& pool) {
  const int64_t n = a.numel();
  const int r = a.rank();
  if (n == 0) return;
  if (r == 0 || block <= 0 || block % a.shape[r - 1] != 0) throw KernelError("gatherBlocks: blocks must hold whole rows");
  const size_t sz = itemSize(a.dtype);
  const int64_t last = a.shape[r - 1];
  const RowBlocks dest{block / last, pitch};
  if (r >= 2 && a.strides[r - 2] == 1 && a.strides[r - 1] != 1 && a.shape[r - 2] >= 8 && a.shape[r - 1] >= 8 && block % (a.shape[r - 2] * last) == 0) {
    if (sz == 4) gatherTransposed<int32_t>(a, static_cast<int32_t*>(out), dest, pool);
    else gatherTransposed<uint8_t>(a, static_cast<uint8_t*>(out), dest, pool);
    return;
  }
  const int64_t rows = n / last;
  pool.parallelRange(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(last, 1)), [&](int64_t b, int64_t e) {
    if (sz == 4) gatherRows<int32_t>(a, static_cast<int32_t*>(out), b, e, dest);
    else gatherRows<uint8_t>(a, static_cast<uint8_t*>(out), b, e, dest);
  });
}

Arg permuteArg(const Arg& a, const std::vector<int>& order) {
  Arg r;
  r.data = a.data;
  r.dtype = a.dtype;
  r.offset = a.offset;
  for (int i : order) {
    r.shape.push_back(a.shape[i]);
    r.strides.push_back(a.strides[i]);
  }
  return r;
}

}  // namespace eitp
