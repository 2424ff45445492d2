// An in-order work queue executed by one dedicated thread, like a GPU stream: the JS thread enqueues kernels and
// returns at once; reads wait for the work they depend on. The stream thread drives the thread pool.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "thread-pool.h"

namespace eitp {

// One timed task of a profile (Stream::setProfiling): the op's name and its wall time on the thread that ran it.
struct KernelSample {
  std::string op;
  int64_t startNs = 0;  // steady clock, from the moment profiling started
  int64_t ns = 0;
};

struct AsyncError {
  uint64_t seq = 0;
  std::string op;
  std::string message;
  bool argument = false;
};

class Stream {
 public:
  // notify is called on the stream thread after every task enqueued with notify = true has run. spinLingerUs: how long
  // the stream and pool threads keep spinning after the JS thread stops waiting for them (spin-hint.h; 0 = off).
  Stream(int threads, std::function<void()> notify, int64_t spinLingerUs = 0);
  ~Stream();

  // Appends work; returns its sequence number (1, 2, ...). Work throwing an exception records an AsyncError. `op` must
  // outlive the task (a kernel's registry name, or a literal): no string copy per task.
  uint64_t enqueue(const char* op, std::function<void(ThreadPool&)> work, bool notify = false);
  uint64_t submitted() const { return submitted_; }
  uint64_t completed() const { return completed_.load(std::memory_order_acquire); }
  bool idle() const { return completed() == submitted_; }
  // Whether the stream thread is running or spinning for work (not asleep): a task queued now starts at once, with
  // no wake-up to pay. A hint (it may change the moment after it is read).
  bool awake() const { return awake_.load(std::memory_order_relaxed); }
  // Blocks the caller until every task up to seq has run (the threads spin meanwhile: spinHint()).
  void waitFor(uint64_t seq);
  // What the JS thread tells the stream and pool threads about its waits (its pending reads; waitFor by itself).
  SpinHint& spinHint() { return hint_; }
  // The JS thread starts / stops waiting for the stream (the hint's beginWait / endWait; a start also widens a
  // narrowed parallel loop now running: ThreadPool::widen). JS thread only.
  void beginJsWait();
  void endJsWait() { hint_.endWait(); }
  // The oldest recorded error with seq <= upTo, removed from the record (each error is reported once).
  bool takeError(uint64_t upTo, AsyncError& out);
  // The pool kernels run on (used by the stream thread, or by the JS thread in sync mode when the queue is idle).
  ThreadPool& pool() { return *pool_; }
  // Waits for the queue to drain, then rebuilds the pool with n threads.
  void setThreads(int n);
  // While profiling, every task's wall time is recorded (kernels run inline on the JS thread call record()).
  // setProfiling(true) clears the record; takeProfile() returns it (call both with the queue drained).
  void setProfiling(bool on);
  bool profiling() const { return profiling_.load(std::memory_order_relaxed); }
  void record(const std::string& op, std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end);
  std::vector<KernelSample> takeProfile();

 private:
  struct Item {
    uint64_t seq;
    const char* op;
    std::function<void(ThreadPool&)> work;
    bool notify;
  };
  void loop();

  SpinHint hint_;  // before pool_, which keeps a pointer to it
  std::unique_ptr<ThreadPool> pool_;
  std::function<void()> notify_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable doneCv_;
  std::deque<Item> queue_;
  std::deque<AsyncError> errors_;
  std::atomic<bool> profiling_{false};
  std::vector<KernelSample> samples_;  // guarded by mu_
  std::chrono::steady_clock::time_point profileStart_;
  uint64_t submitted_ = 0;  // JS thread only
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> enqueued_{0};  // submitted_, readable from the stream thread
  std::atomic<bool> awake_{true};
  std::atomic<int> doneWaiters_{0};  // threads in waitFor's sleep (the stream takes mu_ to wake them only then)
  std::atomic<bool> stop_{false};  // set under mu_ (so the stream cannot miss it before it sleeps)
  // Whether the stream thread lingers after each task (spin-hint.h): only with a second core, where its spin does
  // not take the JS thread's.
  const bool lingerAfterTask_;
  std::thread thread_;
};

}  // namespace eitp
