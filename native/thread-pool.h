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

namespace eitp {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return threads_; }

  // Runs fn(i, thread) for i in [0, n), spread over the threads; returns when all are done. The first exception
  // thrown by fn is rethrown here (the remaining items are skipped).
  void parallelFor(int64_t n, const std::function<void(int64_t, int)>& fn);

  // Splits [0, total) into contiguous chunks of at least `grain` elements, one call per chunk: fn(begin, end).
  void parallelRange(int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  void workerLoop(int id);
  // Claims and runs items of job `gen` until none are left (or the job is no longer current).
  void work(uint32_t gen, const std::function<void(int64_t, int)>* fn, int64_t n, int thread);

  int threads_;
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
  std::atomic<int64_t> finished_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  std::mutex errorMu_;
};

// EITP_THREADS if set (>= 1), otherwise the cores this process may run on.
int defaultThreadCount();

}  // namespace eitp
