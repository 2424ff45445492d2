// The Node entry points of the native backend. Every entry point converts C++ exceptions into JS exceptions (never
// abort): argument errors get code 'EITP_ARGUMENT', others 'EITP_NATIVE', and errors found on the stream thread are
// reported by the next read, readSync, sync or run, naming the op that failed.
#include <napi.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "allocator.h"
#include "fma-probe.h"
#include "common.h"
#include "gemm.h"
#include "handle-table.h"
#include "heap-thresholds.h"
#include "int8-matmul.h"
#include "stream.h"
#include "vmath.h"

namespace eitp {

namespace {

// One allocation. lastUse/lastWrite are sequence numbers of the stream work that touches it (JS thread only).
struct Block {
  void* data = nullptr;
  size_t bytes = 0;
  uint64_t lastUse = 0;
  uint64_t lastWrite = 0;
};

void releaseBlock(Block* b) {
  freeHost(b->data);
  delete b;
}

struct PendingRead {
  uint64_t seq;
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::ArrayBuffer> target;
};

// Calls are kept apart by input count: 0 to 6 inputs exactly, then one bucket for 7 or more (concat).
constexpr size_t kArityBuckets = 8;
size_t arityBucket(size_t inputs) { return inputs < kArityBuckets - 1 ? inputs : kArityBuckets - 1; }

// Per-environment state (one per Node thread that loads the addon).
struct Context {
  std::unique_ptr<Stream> stream;
  Napi::ThreadSafeFunction tsfn;
  std::deque<PendingRead> reads;
  bool syncMode = false;
  bool tsfnRefed = false;
  // Freed blocks for reuse, in stream order (allocator.h).
  HostCache cache;
  // Bytes of buffers disposed on the JS side that the cache had no room for, whose release waits in the stream queue
  // (behind the kernels using them).
  std::shared_ptr<std::atomic<size_t>> pendingFreeBytes = std::make_shared<std::atomic<size_t>>(0);
  // The live buffers, by the numeric ids JS holds.
  HandleTable<Block> blocks;
  // The call being decoded, reused so that a kernel run at the call allocates nothing; a queued one gets a copy.
  // One per input count (arityBucket): decoding a 1-input call into the Task of a 3-input one destroyed two Args
  // and the next 3-input call built them again (malloc for their shapes and strides), and a queued copy did the
  // same to its slot; with Tasks and slots kept per input count, their vectors keep their capacity.
  std::array<Task, kArityBuckets> calls;
  Task* call = &calls[0];
  // Those copies, reused once the stream has run them (JS thread only: a slot is handed out again only after
  // completed() passed its task). A fresh copy per queued kernel was a dozen mallocs on the JS thread that the stream
  // thread freed, and the malloc arena's lock, contended between the two, cost futex calls on both (perf: 2.6 % of
  // all samples of an EIT-P GPT step in lock wake/wait syscalls, plus malloc and free themselves).
  std::deque<std::pair<uint64_t, Task*>> tasksInFlight;
  std::array<std::vector<Task*>, kArityBuckets> freeTasks;
  std::vector<std::unique_ptr<Task>> tasks;
  std::vector<Block*> callBlocks;
  // Block records freed on the JS thread, for the next allocations (one malloc and free per buffer otherwise).
  std::vector<Block*> spareBlocks;
  // Kernel calls since JS last read a buffer back or synced: few means eager use (an op, then its result), many a
  // loop running ahead of the stream (a training step). It sets how much work may run at the call (smallWork).
  uint64_t callsSinceRead = 0;
  // Kernel calls run at the call (sync mode included) and queued on the stream since the addon loaded: what the
  // run-at-the-call rule decided (info().inlineKernels / queuedKernels).
  uint64_t inlineKernels = 0;
  uint64_t queuedKernels = 0;
};

// How far the JS thread may run ahead of the stream, in bytes of freed-but-not-yet-released buffers
// (EITP_NATIVE_MAX_PENDING_MB, default 512). A loop that never reads back (a training loop logging every 50 steps)
// would otherwise queue step after step, each holding its temporaries until the stream reaches their frees: at
// width 512 that took a process to 23 GB and the OOM killer. Past the limit, allocate waits for the stream. Freed
// blocks go to the stream-ordered cache first, where the next allocations reuse them at once, so only what the
// cache has no room for (EITP_NATIVE_CACHE_MB) counts here. A value that is not an integer >= 1 is an error at the
// first allocation.
size_t maxPendingBytes() {
  static const EnvInteger mb = parseEnvInteger("EITP_NATIVE_MAX_PENDING_MB", 512, 1);
  return static_cast<size_t>(validEnvInteger(mb, "EITP_NATIVE_MAX_PENDING_MB", 1)) << 20;
}

// How many tasks the queue may hold (EITP_NATIVE_MAX_QUEUED, default 65536: some 60 EIT-P steps of the main job's
// GPT). With freed memory reused in stream order, a loop that never reads back no longer piles up freed buffers, but
// its queued tasks (each a copy of its call) and staged writes would still grow without bound while the kernels
// are slower than JS. Past the limit, a new task waits until the stream has run half of the queue.
// A value that is not an integer >= 2 is an error at the first queued task (a silent fallback would either
// throttle every call or none).
uint64_t maxQueuedTasks() {
  static const EnvInteger n = parseEnvInteger("EITP_NATIVE_MAX_QUEUED", 65536, 2);
  return static_cast<uint64_t>(validEnvInteger(n, "EITP_NATIVE_MAX_QUEUED", 2));
}

// How long the stream and pool threads keep spinning for work after the JS thread stops waiting for the stream
// (EITP_NATIVE_SPIN_US, default 300; 0 = sleep after a short fixed spin, as before). See spin-hint.h; a value that is
// not an integer >= 0 is an error at the first allocation.
const EnvInteger& spinLingerSetting() {
  static const EnvInteger us = parseEnvInteger("EITP_NATIVE_SPIN_US", 300, 0);
  return us;
}

Context& ctx(const Napi::Env& env) {
  Context* c = env.GetInstanceData<Context>();
  if (!c || !c->stream) throw Napi::Error::New(env, "eitp native addon is shut down");
  return *c;
}

Napi::Error jsError(const Napi::Env& env, const std::string& op, const std::string& message, bool argument) {
  Napi::Error e = Napi::Error::New(env, op.empty() ? message : op + ": " + message);
  e.Set("code", Napi::String::New(env, argument ? "EITP_ARGUMENT" : "EITP_NATIVE"));
  e.Set("op", Napi::String::New(env, op));
  e.Set("detail", Napi::String::New(env, message));
  return e;
}

Napi::Error asyncError(const Napi::Env& env, const AsyncError& err) {
  Napi::Error e = jsError(env, err.op, err.message + " (raised while the native stream ran '" + err.op + "' asynchronously)", err.argument);
  e.Set("detail", Napi::String::New(env, err.message));
  return e;
}

// Throws the oldest stream error up to seq, if any.
void throwPending(const Napi::Env& env, Context& c, uint64_t upTo) {
  AsyncError err;
  if (c.stream->takeError(upTo, err)) throw asyncError(env, err);
}

// Runs fn, converting every C++ exception into a JS one.
template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* what, F fn) {
  Napi::Env env = info.Env();
  try {
    return fn(env);
  } catch (const Napi::Error&) {
    throw;
  } catch (const KernelError& e) {
    throw jsError(env, what, e.what(), e.argument);
  } catch (const std::bad_alloc&) {
    throw jsError(env, what, "out of memory", false);
  } catch (const std::exception& e) {
    throw jsError(env, what, e.what(), false);
  } catch (...) {
    throw jsError(env, what, "unknown C++ exception", false);
  }
}

Block* blockOf(Context& c, const Napi::Value& v) {
  if (!v.IsNumber()) throw KernelError("expected a native buffer handle");
  Block* b = c.blocks.find(v.As<Napi::Number>().DoubleValue());
  if (!b) throw KernelError("native buffer used after free (or not a buffer of this addon)");
  return b;
}

// Backpressure on the queue's length, before a task is added (JS thread).
void throttleQueue(Context& c) {
  const uint64_t submitted = c.stream->submitted(), limit = maxQueuedTasks();
  if (submitted - c.stream->completed() >= limit) c.stream->waitFor(submitted - limit / 2);
}

// A Block record for a new buffer (JS thread): a spare one, reset, or a new one.
Block* newBlock(Context& c) {
  if (c.spareBlocks.empty()) return new Block();
  Block* b = c.spareBlocks.back();
  c.spareBlocks.pop_back();
  *b = Block{};
  return b;
}

// Keeps a Block record whose buffer is gone for reuse (JS thread only: the stream thread deletes its own).
void recycleBlock(Context& c, Block* b) {
  if (c.spareBlocks.size() < 4096) c.spareBlocks.push_back(b);
  else delete b;
}

void freeBlock(Context& c, Block* b) {
  // Cached with its last queued use: the next allocation may take it before the stream gets there (allocator.h).
  if (c.cache.put(b->data, b->bytes, b->lastUse)) {
    recycleBlock(c, b);
    return;
  }
  if (b->lastUse <= c.stream->completed()) {
    freeHost(b->data);
    recycleBlock(c, b);
  } else {
    // The stream may run this at once: b must not be touched after the enqueue.
    const size_t bytes = b->bytes;
    std::shared_ptr<std::atomic<size_t>> pending = c.pendingFreeBytes;
    pending->fetch_add(bytes, std::memory_order_relaxed);
    c.stream->enqueue("free", [b, bytes, pending](ThreadPool&) {
      releaseBlock(b);
      pending->fetch_sub(bytes, std::memory_order_relaxed);
    });
  }
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  return guarded(info, "allocate", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    const double n = info[0].As<Napi::Number>().DoubleValue();
    if (!(n >= 0) || n > 1e15) throw KernelError("invalid allocation size");
    validEnvInteger(spinLingerSetting(), "EITP_NATIVE_SPIN_US", 0);  // the stream took 0 for a bad value: say so here
    if (const std::string& bad = heapThresholdsSettingError(); !bad.empty()) throw KernelError(bad);  // left off at load
    // Backpressure: let the stream catch up before memory the JS side already gave back piles up in its queue.
    if (c.pendingFreeBytes->load(std::memory_order_relaxed) > maxPendingBytes()) c.stream->waitFor(c.stream->submitted());
    Block* b = newBlock(c);
    b->bytes = static_cast<size_t>(n);
    const HostCache::Taken reused = c.cache.take(b->bytes);
    if (reused.data) {
      // Queued work up to readyAt may still use this memory as the block it was: the new buffer's accesses come after.
      b->data = reused.data;
      b->lastUse = b->lastWrite = reused.readyAt;
      return Napi::Number::New(env, c.blocks.add(b));
    }
    b->data = allocateHost(b->bytes);
    if (!b->data) {
      // Out of memory with blocks cached: let the stream finish with them, give them back and try once more.
      c.stream->waitFor(c.stream->submitted());
      c.cache.clear();
      b->data = allocateHost(b->bytes);
    }
    if (!b->data) {
      recycleBlock(c, b);
      throw KernelError("out of memory allocating " + std::to_string(static_cast<size_t>(n)) + " bytes");
    }
    return Napi::Number::New(env, c.blocks.add(b));
  });
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  return guarded(info, "free", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    // A second free of the same id does nothing.
    if (!info[0].IsNumber()) throw KernelError("expected a native buffer handle");
    if (Block* b = c.blocks.take(info[0].As<Napi::Number>().DoubleValue())) freeBlock(c, b);
    return env.Undefined();
  });
}

Napi::Value Write(const Napi::CallbackInfo& info) {
  return guarded(info, "write", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    Block* b = blockOf(c, info[0]);
    Napi::TypedArray src = info[1].As<Napi::TypedArray>();
    const size_t bytes = src.ByteLength();
    if (bytes > b->bytes) throw KernelError("write of " + std::to_string(bytes) + " bytes into a " + std::to_string(b->bytes) + "-byte buffer");
    // Nothing to copy (and an empty typed array may have no backing store: memcpy from null is undefined).
    if (bytes == 0) return env.Undefined();
    const char* from = static_cast<const char*>(src.ArrayBuffer().Data()) + src.ByteOffset();
    if (b->lastUse <= c.stream->completed()) {
      std::memcpy(b->data, from, bytes);
    } else {
      // Work still reads this buffer: copy the data now, write it in stream order.
      // (The memory, not the Block: JS may free the buffer, and its memory back a new one, before this runs.)
      throttleQueue(c);
      auto staged = std::make_shared<std::vector<char>>(from, from + bytes);
      void* data = b->data;
      b->lastUse = b->lastWrite = c.stream->enqueue("write", [data, staged](ThreadPool&) { std::memcpy(data, staged->data(), staged->size()); });
    }
    return env.Undefined();
  });
}

// While reads are pending, the thread-safe function keeps the event loop alive, and JS counts as waiting for the
// stream (it almost always awaits the read at once), so the stream and pool threads spin rather than sleep.
void updateRef(Napi::Env env, Context& c) {
  const bool want = !c.reads.empty();
  if (want && !c.tsfnRefed) {
    c.tsfn.Ref(env);
    c.stream->beginJsWait();
  }
  if (!want && c.tsfnRefed) {
    c.tsfn.Unref(env);
    c.stream->endJsWait();
  }
  c.tsfnRefed = want;
}

// Settles every pending read whose copy has run (JS thread, from the thread-safe function).
void settleReads(Napi::Env env, Context& c) {
  const uint64_t done = c.stream->completed();
  while (!c.reads.empty() && c.reads.front().seq <= done) {
    PendingRead r = std::move(c.reads.front());
    c.reads.pop_front();
    AsyncError err;
    if (c.stream->takeError(r.seq, err)) r.deferred.Reject(asyncError(env, err).Value());
    else r.deferred.Resolve(r.target.Value());
  }
  updateRef(env, c);
}

Napi::Value Read(const Napi::CallbackInfo& info) {
  return guarded(info, "read", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    c.callsSinceRead = 0;
    Block* b = blockOf(c, info[0]);
    const size_t bytes = static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue());
    if (bytes > b->bytes) throw KernelError("read past the end of a native buffer");
    Napi::ArrayBuffer target = Napi::ArrayBuffer::New(env, bytes);
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    if (b->lastWrite <= c.stream->completed()) {
      if (bytes > 0) std::memcpy(target.Data(), b->data, bytes);
      AsyncError err;
      if (c.stream->takeError(b->lastWrite, err)) deferred.Reject(asyncError(env, err).Value());
      else deferred.Resolve(target);
      return deferred.Promise();
    }
    void* dst = target.Data();
    const void* src = b->data;  // not the Block, which JS may free before this runs
    const uint64_t seq = c.stream->enqueue("read", [src, dst, bytes](ThreadPool&) {
      if (bytes > 0) std::memcpy(dst, src, bytes);
    }, true);
    b->lastUse = seq;
    c.reads.push_back(PendingRead{seq, deferred, Napi::Persistent(target)});
    updateRef(env, c);
    return deferred.Promise();
  });
}

Napi::Value ReadSync(const Napi::CallbackInfo& info) {
  return guarded(info, "readSync", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    c.callsSinceRead = 0;
    Block* b = blockOf(c, info[0]);
    const size_t bytes = static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue());
    if (bytes > b->bytes) throw KernelError("read past the end of a native buffer");
    c.stream->waitFor(b->lastWrite);
    throwPending(env, c, b->lastWrite);
    Napi::ArrayBuffer target = Napi::ArrayBuffer::New(env, bytes);
    if (bytes > 0) std::memcpy(target.Data(), b->data, bytes);
    return target;
  });
}

// meta: [nIn, per input: dtype, rank, offset, shape..., strides..., then output: dtype, rank, shape...]
// Fills a in place (its vectors keep their capacity between calls).
void decodeArg(Arg& a, const double*& m, const double* end, Block* b, bool isOutput) {
  if (m + 2 > end) throw KernelError("truncated operand description");
  a.dtype = static_cast<DType>(static_cast<int>(*m++));
  const int rank = static_cast<int>(*m++);
  a.offset = isOutput ? 0 : static_cast<int64_t>(*m++);
  if (rank < 0 || m + rank * (isOutput ? 1 : 2) > end) throw KernelError("truncated operand description");
  a.shape.assign(m, m + rank);
  m += rank;
  a.strides.resize(rank);
  if (isOutput) {
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
      a.strides[i] = s;
      s *= a.shape[i];
    }
  } else {
    for (int i = 0; i < rank; i++) a.strides[i] = static_cast<int64_t>(*m++);
  }
  a.data = b->data;
  // Bounds: the highest element the layout can address must lie inside the allocation.
  int64_t lo = a.offset, hi = a.offset;
  bool empty = false;
  for (int i = 0; i < rank; i++) {
    if (a.shape[i] == 0) empty = true;
    const int64_t span = (a.shape[i] - 1) * a.strides[i];
    if (span > 0) hi += span;
    else lo += span;
  }
  if (!empty && (lo < 0 || static_cast<size_t>(hi + 1) * itemSize(a.dtype) > b->bytes)) {
    throw KernelError("operand layout addresses memory outside its buffer");
  }
}

// What bounds a kernel's cost, for the run-at-the-call decision (smallWork); fixed per kernel, found once by name.
enum class WorkKind { Elementwise, Product, TanhStep, Correlation, CorrelationGrad, Histogram };

WorkKind workKindOf(const std::string& op) {
  if (op == "matmul" || op == "matmulInt8" || op == "linear") return WorkKind::Product;
  if (op == "tanhJvp" || op == "tanhJvpStep" || op == "tanhJvpStepGrad") return WorkKind::TanhStep;
  if (op == "correlation") return WorkKind::Correlation;
  if (op == "correlationGrad") return WorkKind::CorrelationGrad;
  if (op == "softHistogram" || op == "softHistogramGrad") return WorkKind::Histogram;
  return WorkKind::Elementwise;
}

// Calls after a readback or sync that still count as eager use (smallWork).
constexpr uint64_t kEagerCalls = 8;

// Work small enough to run on the JS thread when nothing is queued: ~100 microseconds at most when JS is about to
// wait for it (eager use: handing a kernel to the stream and waiting costs more than running it), and a sixteenth of
// that once JS runs ahead: there a mid-size kernel run at the call only delays the calls after it, while on the
// stream it overlaps them. bench/native-inline-policy.ts, 3 runs alternated with the single-limit build: MLP step
// with all EIT-P terms 0.93-0.96 against 0.96-1.20 ms (medians), char-GPT 9.10-9.70 against 9.33-9.89 ms (within
// the spread), an add and its readback at 1-16K elements unchanged (3.4-8.3 µs either way).
bool smallWork(const Task& t, WorkKind kind, bool eager) {
  const double scale = eager ? 1.0 : 1.0 / 16;
  switch (kind) {
    case WorkKind::Product: {
      const Arg& a = t.inputs[0];  // the operand whose last axis is the inner dimension
      const double flops = static_cast<double>(t.output.numel()) * static_cast<double>(a.shape[a.rank() - 1]);
      return flops < scale * static_cast<double>(1 << 22);
    }
    case WorkKind::TanhStep: {
      // The product v Wᵀ (h [B, out] times v's inner dimension) dominates; the row pass is a few flops per element.
      // Malformed operands run inline too, so that the kernel's own check throws at the call.
      if (t.inputs.size() < 2 || t.inputs[1].rank() == 0) return true;
      const Arg& h = t.inputs[0];
      const Arg& v = t.inputs[1];
      const double flops = static_cast<double>(h.numel()) * static_cast<double>(v.shape[v.rank() - 1]);
      return flops < scale * static_cast<double>(1 << 22);
    }
    case WorkKind::Correlation:
    case WorkKind::CorrelationGrad: {
      // The Gram's upper half (N d²/2 multiply-adds) or, backward, the product Ẑ·S (N d²) dominates.
      const Arg& z = t.inputs[0];
      const double macs = static_cast<double>(z.shape[0]) * static_cast<double>(z.shape[1]) * static_cast<double>(z.shape[1]);
      return (kind == WorkKind::Correlation ? macs / 2 : macs) < scale * static_cast<double>(1 << 20);
    }
    case WorkKind::Histogram:
      // About 2W + 1 exponentials per value (17 with the EIT-P defaults).
      return t.inputs[0].numel() < scale * 4096;
    case WorkKind::Elementwise:
      break;
  }
  int64_t elements = t.output.numel();
  for (const Arg& a : t.inputs) elements += a.numel();
  return elements < scale * (1 << 16);
}

// A kernel run on the JS thread (sync mode, or small work on an idle stream), timed into the profile when one is on.
void runInline(Context& c, const Task& task, KernelFn fn) {
  if (!c.stream->profiling()) {
    fn(task, c.stream->pool());
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  fn(task, c.stream->pool());
  c.stream->record(task.op, start, std::chrono::steady_clock::now());
}

// Decodes the operands of c.call (blocks = inputs then the output) from meta; returns where the meta ended.
const double* decodeOperands(Context& c, const std::vector<Block*>& blocks, const double* m, const double* end) {
  if (m >= end) throw KernelError("truncated operand description");
  const int nIn = static_cast<int>(*m++);
  if (nIn < 0 || nIn + 1 != static_cast<int>(blocks.size())) throw KernelError("operand count mismatch");
  Task& call = *c.call;
  call.inputs.resize(nIn);
  for (int i = 0; i < nIn; i++) decodeArg(call.inputs[i], m, end, blocks[i], false);
  decodeArg(call.output, m, end, blocks[nIn], true);
  return m;
}

// A Task for a queued copy of a call: one whose kernel the stream has run, or a new one.
// Slots go back to the free list of their input count, so a slot is refilled by calls of its own input count.
Task* taskSlot(Context& c, size_t inputs) {
  const uint64_t done = c.stream->completed();
  while (!c.tasksInFlight.empty() && c.tasksInFlight.front().first <= done) {
    Task* t = c.tasksInFlight.front().second;
    c.freeTasks[arityBucket(t->inputs.size())].push_back(t);
    c.tasksInFlight.pop_front();
  }
  std::vector<Task*>& free = c.freeTasks[arityBucket(inputs)];
  if (!free.empty()) {
    Task* t = free.back();
    free.pop_back();
    return t;
  }
  c.tasks.push_back(std::make_unique<Task>());
  return c.tasks.back().get();
}

// Points c.call at the Task for a call with these many handles (its inputs and its output).
void selectCall(Context& c, size_t handles) { c.call = &c.calls[arityBucket(handles > 0 ? handles - 1 : 0)]; }

// Runs the decoded c.call now or queues a copy of it on the stream.
void submit(Context& c, int kernel, const std::vector<Block*>& blocks) {
  static const std::vector<WorkKind> kinds = [] {
    std::vector<WorkKind> k;
    for (const KernelEntry& e : kernelRegistry()) k.push_back(workKindOf(e.name));
    return k;
  }();
  const KernelFn fn = kernelRegistry()[kernel].fn;
  const Task& task = *c.call;
  const int nIn = static_cast<int>(task.inputs.size());
  // Index checks run here when their inputs are already computed, so bad indices throw at the call like cpu.
  // (Kernels run inline check for themselves, at the call.)
  if (c.syncMode) {
    c.stream->waitFor(c.stream->submitted());
    c.inlineKernels++;
    runInline(c, task, fn);
    return;
  }
  // A small kernel on an idle stream runs right here: handing it to the stream thread and waiting for it costs
  // more than the kernel (tens of microseconds on a loaded machine). Same kernel and pool, so same results. Once JS
  // runs ahead, only while the stream thread sleeps: an awake one (spinning after its last task) takes the kernel at
  // once, and it then overlaps the JS that queues the next calls instead of adding to it (a training step is bound by
  // that JS: run at the call, ~50 small kernels per char-GPT EIT-P step on 2 threads made it 8-18 % slower).
  const bool eager = ++c.callsSinceRead <= kEagerCalls;
  if (c.callsSinceRead == kEagerCalls + 1) c.stream->spinHint().endLinger();  // running ahead: spin-hint.h
  if (c.stream->idle() && (eager || !c.stream->awake()) && smallWork(task, kinds[kernel], eager)) {
    c.inlineKernels++;
    runInline(c, task, fn);
    return;
  }
  bool ready = true;
  for (int i = 0; i < nIn; i++) ready = ready && blocks[i]->lastWrite <= c.stream->completed();
  if (ready && !validateArguments(task)) validateTrainFusedArguments(task);
  throttleQueue(c);
  Task* slot = taskSlot(c, task.inputs.size());
  *slot = task;  // assignments into vectors that kept their capacity: no allocation once slots are warm
  const uint64_t seq = c.stream->enqueue(kernelRegistry()[kernel].name, [slot, fn](ThreadPool& pool) { fn(*slot, pool); });
  c.tasksInFlight.emplace_back(seq, slot);
  c.queuedKernels++;
  for (int i = 0; i < nIn; i++) blocks[i]->lastUse = std::max(blocks[i]->lastUse, seq);
  blocks[nIn]->lastUse = blocks[nIn]->lastWrite = seq;
}

int kernelIndexOf(const std::string& op) {
  static const std::unordered_map<std::string, int> byName = [] {
    std::unordered_map<std::string, int> m;
    const std::vector<KernelEntry>& all = kernelRegistry();
    for (size_t i = 0; i < all.size(); i++) m[all[i].name] = static_cast<int>(i);
    return m;
  }();
  auto it = byName.find(op);
  return it == byName.end() ? -1 : it->second;
}

// run(op, handles, meta, attrs): a kernel call by name with its encodings in typed arrays (tests, simple callers).
Napi::Value Run(const Napi::CallbackInfo& info) {
  const std::string op = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : std::string("?");
  return guarded(info, op.c_str(), [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    throwPending(env, c, c.stream->completed());
    const int kernel = kernelIndexOf(op);
    if (kernel < 0) throw KernelError("no native kernel");
    Napi::Array handles = info[1].As<Napi::Array>();
    Napi::Float64Array meta = info[2].As<Napi::Float64Array>();
    Napi::Float64Array attrs = info[3].As<Napi::Float64Array>();
    c.callBlocks.resize(handles.Length());
    for (uint32_t i = 0; i < handles.Length(); i++) c.callBlocks[i] = blockOf(c, handles.Get(i));
    selectCall(c, handles.Length());
    c.call->op = op;
    decodeOperands(c, c.callBlocks, meta.Data(), meta.Data() + meta.ElementLength());
    c.call->attrs.assign(attrs.Data(), attrs.Data() + attrs.ElementLength());
    submit(c, kernel, c.callBlocks);
    return env.Undefined();
  });
}

// kernelNames(): the kernel of each id, in id order.
Napi::Value KernelNames(const Napi::CallbackInfo& info) {
  return guarded(info, "kernelNames", [&](Napi::Env env) -> Napi::Value {
    const std::vector<KernelEntry>& all = kernelRegistry();
    Napi::Array names = Napi::Array::New(env, all.size());
    for (size_t i = 0; i < all.size(); i++) names.Set(static_cast<uint32_t>(i), Napi::String::New(env, all[i].name));
    return names;
  });
}

// runKernel(id, call, ...handles): the engine's call path. `call` (a Float64Array) holds the operand encoding (as run's
// meta), then the attribute count and the attributes; the inputs' handles come first, the output's last. One raw
// typed-array query per call, no strings and no arrays to walk.
Napi::Value RunKernel(const Napi::CallbackInfo& info) {
  const std::vector<KernelEntry>& all = kernelRegistry();
  const int kernel = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : -1;
  const bool known = kernel >= 0 && kernel < static_cast<int>(all.size());
  return guarded(info, known ? all[kernel].name : "runKernel", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    throwPending(env, c, c.stream->completed());
    if (!known) throw KernelError("unknown kernel id");
    napi_typedarray_type type = napi_int8_array;
    size_t length = 0;
    void* data = nullptr;
    if (info.Length() < 2 || napi_get_typedarray_info(env, info[1], &type, &length, &data, nullptr, nullptr) != napi_ok || type != napi_float64_array) {
      throw KernelError("the call encoding must be a Float64Array");
    }
    const size_t nh = info.Length() - 2;
    c.callBlocks.resize(nh);
    for (size_t i = 0; i < nh; i++) c.callBlocks[i] = blockOf(c, info[i + 2]);
    selectCall(c, nh);
    c.call->op.assign(all[kernel].name);
    const double* begin = static_cast<const double*>(data);
    const double* end = begin + length;
    const double* m = decodeOperands(c, c.callBlocks, begin, end);
    const int64_t nAttrs = m < end ? static_cast<int64_t>(*m++) : -1;
    if (nAttrs < 0 || m + nAttrs > end) throw KernelError("truncated attribute encoding");
    c.call->attrs.assign(m, m + nAttrs);
    submit(c, kernel, c.callBlocks);
    return env.Undefined();
  });
}

Napi::Value Sync(const Napi::CallbackInfo& info) {
  return guarded(info, "sync", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    c.callsSinceRead = 0;
    c.stream->waitFor(c.stream->submitted());
    throwPending(env, c, c.stream->submitted());
    return env.Undefined();
  });
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  return guarded(info, "setThreads", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    const int n = info[0].As<Napi::Number>().Int32Value();
    c.stream->setThreads(n >= 1 ? n : defaultThreadCount());
    return Napi::Number::New(env, c.stream->pool().threads());
  });
}

// setSpinLinger(us) -> the linger in effect (EITP_NATIVE_SPIN_US at load; spin-hint.h). Validated by the engine.
Napi::Value SetSpinLinger(const Napi::CallbackInfo& info) {
  return guarded(info, "setSpinLinger", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    const double us = info[0].As<Napi::Number>().DoubleValue();
    if (!(us >= 0) || us > 1e6) throw KernelError("the spin linger must be 0 to 1e6 microseconds", true);
    c.stream->spinHint().setLingerUs(static_cast<int64_t>(us));
    return Napi::Number::New(env, static_cast<double>(c.stream->spinHint().lingerUs()));
  });
}

// fmaPeak(threads, seconds) -> { gflops, isa, threads, seconds }: the FMA peak probe (fma-probe.h). Synchronous; runs
// its own threads (not the pool), so call it when nothing else is running.
Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  return guarded(info, "fmaPeak", [&](Napi::Env env) -> Napi::Value {
    const int threads = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : defaultThreadCount();
    const double seconds = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0.2;
    const char* isa = "generic";
    const double gflops = fmaPeakGflops(threads, seconds, &isa);
    Napi::Object o = Napi::Object::New(env);
    o.Set("gflops", gflops);
    o.Set("isa", isa);
    o.Set("threads", threads);
    o.Set("seconds", seconds);
    return o;
  });
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  return guarded(info, "info", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    const MicroKernel& uk = activeMicroKernel();
    Napi::Object o = Napi::Object::New(env);
    o.Set("threads", c.stream->pool().threads());
    o.Set("gemmKernel", uk.name);
    o.Set("int8Kernel", activeInt8Kernels().name);
    o.Set("vmath", vmath().isa);
    o.Set("sync", c.syncMode);
    o.Set("spinLingerUs", static_cast<double>(c.stream->spinHint().lingerUs()));
    o.Set("cachedBytes", static_cast<double>(c.cache.bytes()));
    o.Set("pendingFreeBytes", static_cast<double>(c.pendingFreeBytes->load(std::memory_order_relaxed)));
    o.Set("queuedTasks", static_cast<double>(c.stream->submitted() - c.stream->completed()));
    const HeapThresholds heap = raiseHeapThresholds();
    o.Set("glibcThresholds", heap == HeapThresholds::Raised ? "raised" : heap == HeapThresholds::Kept ? "kept" : heap == HeapThresholds::Off ? "off" : "not-glibc");
    o.Set("inlineKernels", static_cast<double>(c.inlineKernels));
    o.Set("queuedKernels", static_cast<double>(c.queuedKernels));
    o.Set("narrowedLoops", static_cast<double>(c.stream->pool().narrowedLoops()));
    o.Set("helpedLoops", static_cast<double>(c.stream->pool().helpedLoops()));
    o.Set("lateJoins", static_cast<double>(c.stream->pool().lateJoins()));
    return o;
  });
}

// Used by tests: the sgemm on raw typed arrays, synchronously (C = A @ B, all dense row-major).
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  return guarded(info, "sgemm", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    const int64_t m = info[0].As<Napi::Number>().Int64Value(), n = info[1].As<Napi::Number>().Int64Value(),
                  k = info[2].As<Napi::Number>().Int64Value();
    Napi::Float32Array a = info[3].As<Napi::Float32Array>(), b = info[4].As<Napi::Float32Array>(), out = info[5].As<Napi::Float32Array>();
    if (static_cast<int64_t>(a.ElementLength()) < m * k || static_cast<int64_t>(b.ElementLength()) < k * n ||
        static_cast<int64_t>(out.ElementLength()) < m * n) {
      throw KernelError("arrays are smaller than the shapes say");
    }
    c.stream->waitFor(c.stream->submitted());
    sgemm(m, n, k, a.Data(), k, 1, b.Data(), n, 1, out.Data(), n, c.stream->pool(), true);
    return env.Undefined();
  });
}

// profile(true) drains the queue and starts recording every task's wall time; profile(false) drains it, stops, and
// returns { ops: string[], start: Float64Array, ns: Float64Array } in the order the tasks ran (start in ns from the
// profile's start).
Napi::Value Profile(const Napi::CallbackInfo& info) {
  return guarded(info, "profile", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    const bool on = info.Length() > 0 && info[0].ToBoolean().Value();
    c.stream->waitFor(c.stream->submitted());
    throwPending(env, c, c.stream->submitted());
    if (on) {
      c.stream->setProfiling(true);
      return env.Undefined();
    }
    c.stream->setProfiling(false);
    const std::vector<KernelSample> samples = c.stream->takeProfile();
    Napi::Array ops = Napi::Array::New(env, samples.size());
    Napi::Float64Array start = Napi::Float64Array::New(env, samples.size());
    Napi::Float64Array ns = Napi::Float64Array::New(env, samples.size());
    for (size_t i = 0; i < samples.size(); i++) {
      ops.Set(static_cast<uint32_t>(i), Napi::String::New(env, samples[i].op));
      start[i] = static_cast<double>(samples[i].startNs);
      ns[i] = static_cast<double>(samples[i].ns);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("ops", ops);
    o.Set("start", start);
    o.Set("ns", ns);
    return o;
  });
}

// Returns the cached free blocks to the system (after the queued work, which may still use them).
Napi::Value TrimCache(const Napi::CallbackInfo& info) {
  return guarded(info, "trimCache", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    c.stream->waitFor(c.stream->submitted());
    c.cache.clear();
    return env.Undefined();
  });
}

// Tests only: whether malloc(bytes) now maps a block of its own (glibc's thresholds, heap-thresholds.h).
Napi::Value MallocMaps(const Napi::CallbackInfo& info) {
  return guarded(info, "mallocMaps", [&](Napi::Env env) -> Napi::Value {
    const double bytes = info[0].As<Napi::Number>().DoubleValue();
    if (!(bytes >= 1) || bytes > 1e9) throw KernelError("mallocMaps takes a size in [1, 1e9] bytes");
    return Napi::Boolean::New(env, mallocMaps(static_cast<unsigned long>(bytes)));
  });
}

// Tests only: queues `ms` milliseconds of idle work, so that the work queued after it is certainly still pending.
// With `items` > 1 the stall is a parallel loop of that many items of `ms` each (on the pool, narrowed like any loop
// the stream runs while JS runs), which checks that every item ran exactly once: a pool that lost or repeated an item
// fails the next wait with a KernelError.
Napi::Value StallStream(const Napi::CallbackInfo& info) {
  return guarded(info, "stallStream", [&](Napi::Env env) -> Napi::Value {
    Context& c = ctx(env);
    if (!info[0].IsNumber() || (info.Length() > 1 && !info[1].IsNumber())) throw KernelError("stallStream takes (ms: number, items?: number)");
    const int ms = std::max(0, std::min(10000, info[0].As<Napi::Number>().Int32Value()));
    const int items = info.Length() > 1 ? std::max(1, std::min(1000, info[1].As<Napi::Number>().Int32Value())) : 1;
    if (items == 1) {
      c.stream->enqueue("stallStream", [ms](ThreadPool&) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); });
      return env.Undefined();
    }
    c.stream->enqueue("stallStream", [ms, items](ThreadPool& pool) {
      std::vector<std::atomic<int>> runs(static_cast<size_t>(items));
      pool.parallelFor(items, [&](int64_t i, int) {
        runs[i].fetch_add(1, std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      });
      for (int i = 0; i < items; i++) {
        const int r = runs[i].load(std::memory_order_relaxed);
        if (r != 1) throw KernelError("stallStream: item " + std::to_string(i) + " ran " + std::to_string(r) + " times");
      }
    });
    return env.Undefined();
  });
}

// The environment is going away (process exit, or a worker thread ending): stop the stream, then release the buffers
// JS never freed. The small Context itself is left allocated (its V8 references belong to the dying environment).
void shutdown(Napi::Env, Context* c) {
  if (!c) return;
  c->stream.reset();  // joins the stream and pool threads
  c->tsfn.Release();
  c->blocks.forEach(releaseBlock);
  for (Block* b : c->spareBlocks) delete b;
  c->spareBlocks.clear();
  c->cache.clear();
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports);
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  raiseHeapThresholds();
  Context* c = new Context();
  const char* sync = std::getenv("EITP_NATIVE_SYNC");
  c->syncMode = sync && std::strcmp(sync, "1") == 0;
  c->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "eitp-native-stream", 0, 1);
  c->tsfn.Unref(env);
  Napi::ThreadSafeFunction tsfn = c->tsfn;
  const EnvInteger& linger = spinLingerSetting();
  c->stream.reset(new Stream(defaultThreadCount(), [tsfn]() mutable {
    tsfn.NonBlockingCall([](Napi::Env env, Napi::Function) {
      Context* c = env.GetInstanceData<Context>();
      if (c && c->stream) settleReads(env, *c);
    });
  }, linger.valid ? linger.value : 0));
  env.SetInstanceData<Context, &shutdown>(c);
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("write", Napi::Function::New(env, Write));
  exports.Set("read", Napi::Function::New(env, Read));
  exports.Set("readSync", Napi::Function::New(env, ReadSync));
  exports.Set("run", Napi::Function::New(env, Run));
  exports.Set("runKernel", Napi::Function::New(env, RunKernel));
  exports.Set("kernelNames", Napi::Function::New(env, KernelNames));
  exports.Set("sync", Napi::Function::New(env, Sync));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("setSpinLinger", Napi::Function::New(env, SetSpinLinger));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak));
  exports.Set("sgemm", Napi::Function::New(env, Sgemm));
  exports.Set("trimCache", Napi::Function::New(env, TrimCache));
  exports.Set("stallStream", Napi::Function::New(env, StallStream));
  exports.Set("mallocMaps", Napi::Function::New(env, MallocMaps));
  exports.Set("profile", Napi::Function::New(env, Profile));
  return exports;
}

}  // namespace eitp

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return eitp::Init(env, exports); }

NODE_API_MODULE(eitp_native, InitModule)
