// CPU emulation of the CUDA subset the kernels in cuda/*.cuh use, so g++ can compile and run them unchanged.
// Each block runs on one OS thread with its CUDA threads as fibers (fiber.h); blocks are spread over a small pool
// of OS threads, so a grid with more blocks than workers exercises the grid-stride and multi-block code paths.
// `__syncthreads` is a real barrier, shuffles exchange through a per-warp mailbox between two warp barriers,
// atomics are real atomics (blocks run concurrently). Misuse is an error, not silent UB: a barrier that not every
// live thread reaches (deadlock), a shuffle on a partial warp or with a partial mask.
#pragma once
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "fiber.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __align__(n) __attribute__((aligned(n)))
// Block shared memory: all fibers of a block run on one OS thread, and a worker runs its blocks one after the
// other, so a thread_local static is exactly "one copy per resident block".
#define __shared__ static thread_local

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned x, y, z;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
struct alignas(16) int4 {
  int x, y, z, w;
};
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }

namespace eitp_emu {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class State { Ready, WaitBlock, WaitWarp, Done };

struct Warp {
  int size = 0, live = 0, arrived = 0;
  unsigned gen = 0;
  uint64_t slot[32] = {};
};

struct Thread {
  void* sp = nullptr;
  uint3 idx{};
  int lane = 0, warp = 0;
  State state = State::Ready;
  unsigned wait_gen = 0;
  void* asan_fake = nullptr;
};

struct Block {
  uint3 idx{};
  dim3 dim, grid;
  Thread* threads = nullptr;
  int n = 0, live = 0, arrived = 0, site = 0;
  unsigned gen = 0;
  Warp* warps = nullptr;
  unsigned char* dyn_smem = nullptr;
  void (*body)(void*) = nullptr;
  void* arg = nullptr;
  std::string error;
};

inline thread_local Block* tl_block = nullptr;
inline thread_local Thread* tl_thread = nullptr;
inline thread_local void* tl_sched_sp = nullptr;
inline thread_local const void* tl_sched_bottom = nullptr;
inline thread_local size_t tl_sched_size = 0;

// ---- AddressSanitizer needs to know when the stack changes under it -----------------------------------------
inline void asan_start(void** fake, const void* bottom, size_t size) {
#if EITP_EMU_ASAN
  __sanitizer_start_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}
inline void asan_finish(void* fake, const void** bottom, size_t* size) {
#if EITP_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake, bottom, size);
#else
  (void)fake, (void)bottom, (void)size;
#endif
}

// Per OS thread: fiber stacks and thread records, reused from block to block.
struct WorkerState {
  std::vector<std::unique_ptr<Stack>> stacks;
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  std::vector<unsigned char> smem;
};
inline thread_local WorkerState tl_worker;

inline size_t stack_bytes() {
  // Kernels use little stack; sanitizers' redzones and fake frames need more.
  return EITP_EMU_ASAN ? (512u << 10) : (64u << 10);
}

// ---- inside a fiber ----------------------------------------------------------------------------------------
inline void park() {
  Thread* t = tl_thread;
  asan_start(&t->asan_fake, tl_sched_bottom, tl_sched_size);
  eitp_emu_switch(&t->sp, tl_sched_sp);
  asan_finish(t->asan_fake, nullptr, nullptr);
}

inline void release_if_complete(Block* b, Warp& w) {
  if (b->live > 0 && b->arrived > 0 && b->arrived == b->live) b->arrived = 0, ++b->gen;
  if (w.live > 0 && w.arrived > 0 && w.arrived == w.live) w.arrived = 0, ++w.gen;
}

// `site` identifies the __syncthreads() call (its line); all threads meeting at one barrier must come from the
// same call, or the kernel has a barrier in divergent code (undefined behaviour on a GPU).
inline void sync_block(int site) {
  Block* b = tl_block;
  Thread* t = tl_thread;
  if (b->arrived == 0) b->site = site;
  else if (b->site != site) {
    throw Error("__syncthreads() reached from different places (lines " + std::to_string(b->site) + " and " + std::to_string(site) +
                ") by threads of one block: a barrier in divergent control flow");
  }
  if (++b->arrived == b->live) {
    b->arrived = 0;
    ++b->gen;
    return;
  }
  t->state = State::WaitBlock;
  t->wait_gen = b->gen;
  park();
}

inline void sync_warp() {
  Block* b = tl_block;
  Thread* t = tl_thread;
  Warp& w = b->warps[t->warp];
  if (++w.arrived == w.live) {
    w.arrived = 0;
    ++w.gen;
    return;
  }
  t->state = State::WaitWarp;
  t->wait_gen = w.gen;
  park();
}

extern "C" inline void eitp_emu_fiber_main(void* p) {
  auto* t = static_cast<Thread*>(p);
  asan_finish(nullptr, &tl_sched_bottom, &tl_sched_size);
  Block* b = tl_block;
  try {
    b->body(b->arg);
  } catch (const std::exception& e) {
    if (b->error.empty()) b->error = e.what();
  } catch (...) {
    if (b->error.empty()) b->error = "unknown exception in a kernel thread";
  }
  --b->live;
  --b->warps[t->warp].live;
  release_if_complete(b, b->warps[t->warp]);
  t->state = State::Done;
  asan_start(nullptr, tl_sched_bottom, tl_sched_size);  // nullptr: this fiber's fake stack dies here
  eitp_emu_switch(&t->sp, tl_sched_sp);
  __builtin_unreachable();
}

// Exchanges one 64-bit value per lane of the calling warp: every lane deposits, then every lane reads `src`.
inline uint64_t warp_exchange(unsigned mask, uint64_t mine, int src) {
  Block* b = tl_block;
  Thread* t = tl_thread;
  Warp& w = b->warps[t->warp];
  if (mask != 0xffffffffu) throw Error("warp shuffle with a partial mask: the kernels use full-warp shuffles only");
  if (w.size != 32 || w.live != 32) throw Error("warp shuffle on a partial warp (block size not a multiple of 32, or exited lanes)");
  w.slot[t->lane] = mine;
  sync_warp();
  if (w.live != 32) throw Error("a lane exited while its warp was in a shuffle");
  uint64_t r = w.slot[src];
  sync_warp();
  return r;
}

template <class T>
inline T exchange_as(unsigned mask, T v, int src) {
  static_assert(sizeof(T) <= 8, "shuffle of a value wider than 64 bits");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  uint64_t r = warp_exchange(mask, bits, src);
  T out;
  std::memcpy(&out, &r, sizeof(T));
  return out;
}

// ---- the scheduler ------------------------------------------------------------------------------------------
inline bool blocked(const Block& b, const Thread& t) {
  if (t.state == State::WaitBlock) return t.wait_gen == b.gen;
  if (t.state == State::WaitWarp) return t.wait_gen == b.warps[t.warp].gen;
  return false;
}

// Runs every thread of one block to completion; returns false with b.error set on failure.
inline bool run_block(Block& b, size_t dyn_smem) {
  WorkerState& ws = tl_worker;
  const int n = b.n;
  while (ws.stacks.size() < static_cast<size_t>(n)) {
    auto s = std::make_unique<Stack>();
    if (!s->allocate(stack_bytes())) {
      b.error = "could not map a fiber stack";
      return false;
    }
    ws.stacks.push_back(std::move(s));
  }
  ws.threads.assign(n, Thread{});
  ws.warps.assign((n + 31) / 32, Warp{});
  // Fresh dynamic shared memory is filled with 0xff (NaN as f32, -1 as i32): a read before any write shows.
  ws.smem.assign(dyn_smem ? dyn_smem : 1, 0xff);
  b.threads = ws.threads.data();
  b.warps = ws.warps.data();
  b.dyn_smem = ws.smem.data();
  b.live = n;
  b.arrived = 0;
  b.gen = 0;
  for (int w = 0; w < static_cast<int>(ws.warps.size()); ++w) {
    ws.warps[w].size = ws.warps[w].live = std::min(32, n - 32 * w);
  }
  for (int i = 0; i < n; ++i) {
    Thread& t = ws.threads[i];
    t.idx = {static_cast<unsigned>(i) % b.dim.x, (static_cast<unsigned>(i) / b.dim.x) % b.dim.y,
             static_cast<unsigned>(i) / (b.dim.x * b.dim.y)};
    t.lane = i % 32;
    t.warp = i / 32;
    t.sp = make_context(*ws.stacks[i], &eitp_emu_fiber_main, &t);
  }
  tl_block = &b;
  for (;;) {
    bool progress = false, all_done = true;
    for (int i = 0; i < n; ++i) {
      Thread& t = ws.threads[i];
      if (t.state == State::Done) continue;
      all_done = false;
      if (blocked(b, t)) continue;
      t.state = State::Ready;
      tl_thread = &t;
      void* fake = nullptr;
      asan_start(&fake, ws.stacks[i]->base, ws.stacks[i]->size);
      eitp_emu_switch(&tl_sched_sp, t.sp);
      asan_finish(fake, nullptr, nullptr);
      progress = true;
      if (!b.error.empty()) break;
    }
    if (!b.error.empty()) break;
    if (all_done) break;
    if (!progress) {
      int waiting_block = 0, waiting_warp = 0;
      for (int i = 0; i < n; ++i) {
        waiting_block += ws.threads[i].state == State::WaitBlock;
        waiting_warp += ws.threads[i].state == State::WaitWarp;
      }
      b.error = "deadlock in block (" + std::to_string(b.idx.x) + "," + std::to_string(b.idx.y) + "," +
                std::to_string(b.idx.z) + "): " + std::to_string(waiting_block) + " threads wait at __syncthreads and " +
                std::to_string(waiting_warp) + " at a warp barrier that the other live threads never reach " +
                "(a barrier inside divergent control flow?)";
      break;
    }
  }
  tl_block = nullptr;
  tl_thread = nullptr;
  return b.error.empty();
}

// ---- the worker pool ---------------------------------------------------------------------------------------
// The calling thread takes part, so `workers() - 1` extra OS threads exist. They are detached and the pool is
// never destroyed: a Node addon must not block or abort in static destructors at exit.
class Pool {
 public:
  static Pool& get() {
    static Pool* p = new Pool();
    return *p;
  }
  int workers() const { return workers_; }

  // Runs fn on every worker including the caller, and waits for all of them.
  template <class F>
  void run(F& fn) {
    std::lock_guard<std::mutex> serial(launch_mutex_);
    if (workers_ == 1) {
      fn();
      return;
    }
    {
      std::lock_guard<std::mutex> lk(m_);
      job_ = [&fn] { fn(); };
      busy_ = workers_ - 1;
      ++job_gen_;
    }
    cv_work_.notify_all();
    fn();
    std::unique_lock<std::mutex> lk(m_);
    cv_done_.wait(lk, [this] { return busy_ == 0; });
    job_ = nullptr;
  }

 private:
  Pool() {
    const char* env = std::getenv("EITP_CUDA_EMU_WORKERS");
    int n = env ? std::atoi(env) : 2;
    workers_ = n < 1 ? 1 : (n > 64 ? 64 : n);
    for (int i = 1; i < workers_; ++i) std::thread([this] { loop(); }).detach();
  }
  void loop() {
    unsigned seen = 0;
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lk(m_);
        cv_work_.wait(lk, [&] { return job_gen_ != seen; });
        seen = job_gen_;
        job = job_;
      }
      job();
      std::lock_guard<std::mutex> lk(m_);
      if (--busy_ == 0) cv_done_.notify_all();
    }
  }
  int workers_ = 1;
  std::mutex launch_mutex_, m_;
  std::condition_variable cv_work_, cv_done_;
  std::function<void()> job_;
  int busy_ = 0;
  unsigned job_gen_ = 0;
};

inline std::string& last_launch_error() {
  static std::string s;
  return s;
}

// Emulated launch: validates the configuration like the runtime, then runs every block. Returns 0 on success,
// 9 (cudaErrorInvalidConfiguration) or 719 (cudaErrorLaunchFailure) with last_launch_error() set.
template <class... P, class... A>
int launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, A&&... args) {
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.z > 64 || grid.x == 0 || grid.y == 0 || grid.z == 0 ||
      grid.y > 65535 || grid.z > 65535 || grid.x > 0x7fffffffu || smem > 48 * 1024) {
    last_launch_error() = "invalid launch configuration";
    return 9;
  }
  struct Packed {
    void (*kernel)(P...);
    std::tuple<std::decay_t<P>...> params;
  };
  Packed packed{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
  void (*body)(void*) = [](void* p) {
    auto* pk = static_cast<Packed*>(p);
    std::apply(pk->kernel, pk->params);
  };
  const unsigned long long blocks = 1ull * grid.x * grid.y * grid.z;
  std::atomic<unsigned long long> next{0};
  std::atomic<bool> failed{false};
  std::mutex err_m;
  std::string err;
  auto worker = [&] {
    for (;;) {
      if (failed.load(std::memory_order_relaxed)) return;
      unsigned long long i = next.fetch_add(1);
      if (i >= blocks) return;
      Block b;
      b.idx = {static_cast<unsigned>(i % grid.x), static_cast<unsigned>((i / grid.x) % grid.y),
               static_cast<unsigned>(i / (1ull * grid.x * grid.y))};
      b.dim = block;
      b.grid = grid;
      b.n = static_cast<int>(threads);
      b.body = body;
      b.arg = &packed;
      if (!run_block(b, smem)) {
        std::lock_guard<std::mutex> lk(err_m);
        if (!failed.exchange(true)) err = b.error;
        return;
      }
    }
  };
  Pool::get().run(worker);
  if (failed) {
    last_launch_error() = err;
    return 719;
  }
  return 0;
}

inline unsigned char* dyn_shared() { return tl_block->dyn_smem; }

}  // namespace eitp_emu

// ---- the device-side API the kernels see --------------------------------------------------------------------
#define threadIdx (::eitp_emu::tl_thread->idx)
#define blockIdx (::eitp_emu::tl_block->idx)
#define blockDim (::eitp_emu::tl_block->dim)
#define gridDim (::eitp_emu::tl_block->grid)
constexpr int warpSize = 32;

#define __syncthreads() ::eitp_emu::sync_block(__LINE__)
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  if (mask != 0xffffffffu) throw ::eitp_emu::Error("__syncwarp with a partial mask");
  ::eitp_emu::sync_warp();
}
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

template <class T>
inline T __shfl_sync(unsigned mask, T v, int src, int = 32) {
  return ::eitp_emu::exchange_as(mask, v, src & 31);
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int = 32) {
  return ::eitp_emu::exchange_as(mask, v, (::eitp_emu::tl_thread->lane ^ lane_mask) & 31);
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int = 32) {
  int src = ::eitp_emu::tl_thread->lane + static_cast<int>(delta);
  return ::eitp_emu::exchange_as(mask, v, src < 32 ? src : ::eitp_emu::tl_thread->lane);
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int = 32) {
  int src = ::eitp_emu::tl_thread->lane - static_cast<int>(delta);
  return ::eitp_emu::exchange_as(mask, v, src >= 0 ? src : ::eitp_emu::tl_thread->lane);
}

// Blocks run on several OS threads, so atomics must be real ones.
inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline int atomicAdd(int* p, int v) { return std::atomic_ref<int>(*p).fetch_add(v); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return std::atomic_ref<unsigned>(*p).fetch_add(v); }
inline int atomicCAS(int* p, int expected, int desired) {
  std::atomic_ref<int>(*p).compare_exchange_strong(expected, desired);
  return expected;
}
inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long expected, unsigned long long desired) {
  std::atomic_ref<unsigned long long>(*p).compare_exchange_strong(expected, desired);
  return expected;
}
inline int atomicExch(int* p, int v) { return std::atomic_ref<int>(*p).exchange(v); }
inline int atomicMax(int* p, int v) {
  std::atomic_ref<int> r(*p);
  int old = r.load();
  while (old < v && !r.compare_exchange_weak(old, v)) {
  }
  return old;
}

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }

// The integer intrinsics of the int8 kernels, with the GPU's results on every input.
// __dp4a: four signed 8-bit products of the packed bytes of a and b, summed into c (32-bit wrapping, as the
// hardware's IDP4A; unsigned arithmetic keeps the wrap defined in C++).
inline int __dp4a(int a, int b, int c) {
  uint32_t acc = static_cast<uint32_t>(c);
  for (int i = 0; i < 4; ++i) {
    const int x = static_cast<int8_t>(static_cast<uint32_t>(a) >> (8 * i));
    const int y = static_cast<int8_t>(static_cast<uint32_t>(b) >> (8 * i));
    acc += static_cast<uint32_t>(x * y);
  }
  return static_cast<int>(acc);
}
// __float2int_rn: round half to even (cvt.rni.s32.f32): NaN gives 0, out-of-range values saturate.
inline int __float2int_rn(float x) {
  if (x != x) return 0;
  if (x >= 2147483648.0f) return 2147483647;
  if (x <= -2147483648.0f) return -2147483647 - 1;
  return static_cast<int>(std::nearbyint(x));  // the default rounding mode is to nearest, ties to even
}
