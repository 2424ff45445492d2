// A persistent fork-join pool. The calling thread takes part in every parallel loop, so `threads` counts it:
// EITP_THREADS=2 means the caller plus one worker. Items are claimed dynamically and the caller never waits for a
// worker that has not started: on a loaded machine a descheduled worker just takes no items.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "spin-hint.h"

namespace eitp {

class ThreadPool {
 public:
  // hint (optional, owned by the caller): lets idle workers spin on while the JS thread waits for the stream.
  explicit ThreadPool(int threads, const SpinHint* hint = nullptr);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Marks the calling thread as one that runs kernels beside the JS thread (the stream thread). Its parallel loops take
  // every worker only while JS waits for the stream; while JS runs (queueing the next ops on a core of its own) they
  // take at most usableCores() - 1 threads, the caller included. On 2 cores that is the stream thread alone: a woken
  // worker there preempts the JS thread that the step is waiting on (EIT-P training steps ran at 0.64-0.96x the speed
  // of one pool thread on two; README, `npm run bench -- native-threads`). The chunks are the same either way.
  static void runBesideJs();

  // How many threads (the caller included) a parallel loop started on this thread now takes.
  int width() const;

  // Called by the JS thread when it starts waiting for the stream: a loop the stream is running narrowed (width())
  // takes its full width now, the caller taking part (as thread threads()) before it returns, sleeping workers for
  // any further places. In eager use (a kernel, then a readback) the stream starts the kernel before JS asks for the
  // result; a kernel of one parallel loop (a mid-size product) then ran on one thread to the end (README).
  void widen();

  // Parallel loops of more than one item that ran on fewer threads than the pool has because JS was running
  // (width()), since the pool was made.
  uint64_t narrowedLoops() const { return narrowed_.load(std::memory_order_relaxed); }
  // Narrowed loops the JS thread ran items of (widen()), since the pool was made.
  uint64_t helpedLoops() const { return helped_.load(std::memory_order_relaxed); }
  // Times a worker joined a loop after widen() and ran items of it, since the pool was made: the places beyond the JS
  // thread's, where the pool has more threads than cores.
  uint64_t lateJoins() const { return lateJoins_.load(std::memory_order_relaxed); }

  // Runs fn(i, thread) for i in [0, n), spread over the threads (thread: 0 for the caller, 1 to threads() - 1 for the
  // workers, threads() for the JS thread helping: widen()); returns when all are done. The first exception
  // thrown by fn is rethrown here (the remaining items are skipped).
  void parallelFor(int64_t n, const std::function<void(int64_t, int)>& fn);

  // Splits [0, total) into contiguous chunks of at least `grain` elements, one call per chunk: fn(begin, end).
  // A job of at most kQuietChunks chunks leaves sleeping workers asleep (see there); workers still spinning from the
  // previous job join in as usual. The chunks are the same either way: only who runs them changes.
  void parallelRange(int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // At most two grains of work: about what waking a sleeping worker costs. The wake is a futex call, the worker
  // starts ~7 us later (measured on 2 loaded cores), by when the caller is nearly through its own chunk, and on a
  // small machine the woken worker preempts the JS thread. One 64K-element add per engine call (two chunks) went
  // from ~101 to ~77 us (bench/native-dispatch.ts, medians of 5 runs); larger jobs and parallelFor still wake all.
  static constexpr int64_t kQuietChunks = 2;

 private:
  // parallelFor, waking sleeping workers only when wakeSleepers is set.
  void run(int64_t n, const std::function<void(int64_t, int)>& fn, bool wakeSleepers);
  void workerLoop(int id);
  // Claims and runs items of job `gen` until none are left (or the job is no longer current); returns how many it ran.
  int64_t work(uint32_t gen, const std::function<void(int64_t, int)>* fn, int64_t n, int thread);

  int threads_;
  const SpinHint* hint_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  bool stop_ = false;
  // The current job: (generation << 32) | next unclaimed index, so a late worker can never claim an item of a
  // newer job with the function of an older one.
  std::atomic<uint64_t> claim_{0};
  uint32_t generation_ = 0;  // under mu_
  const std::function<void(int64_t, int)>* fn_ = nullptr;  // under mu_
  int64_t n_ = 0;  // under mu_
  int sleepers_ = 0;  // workers waiting on wake_, under mu_
  int joinLimit_ = 0;  // workers the current job may take (width() - 1), under mu_
  int joined_ = 0;  // workers that took part in the current job, under mu_
  bool widened_ = false;  // whether widen() raised the current job's joinLimit_, under mu_
  const int cores_;  // usableCores() when the pool was made
  std::atomic<uint64_t> narrowed_{0};
  std::atomic<uint64_t> helped_{0};
  std::atomic<uint64_t> lateJoins_{0};
  std::atomic<int64_t> finished_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  std::mutex errorMu_;
};

// The cores this process may run on (its affinity mask).
int usableCores();

// EITP_THREADS if set (>= 1), otherwise usableCores().
int defaultThreadCount();

}  // namespace eitp
