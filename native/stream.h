// An in-order work queue executed by one dedicated thread, like a GPU stream: the JS thread enqueues kernels and
// returns at once; reads wait for the work they depend on. The stream thread drives the thread pool.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "thread-pool.h"

namespace eitp {

struct AsyncError {
  uint64_t seq = 0;
  std::string op;
  std::string message;
  bool argument = false;
};

class Stream {
 public:
  // notify is called on the stream thread after every task enqueued with notify = true has run.
  Stream(int threads, std::function<void()> notify);
  ~Stream();

  // Appends work; returns its sequence number (1, 2, ...). Work throwing an exception records an AsyncError.
  uint64_t enqueue(std::string op, std::function<void(ThreadPool&)> work, bool notify = false);
  uint64_t submitted() const { return submitted_; }
  uint64_t completed() const { return completed_.load(std::memory_order_acquire); }
  bool idle() const { return completed() == submitted_; }
  // Blocks the caller until every task up to seq has run.
  void waitFor(uint64_t seq);
  // The oldest recorded error with seq <= upTo, removed from the record (each error is reported once).
  bool takeError(uint64_t upTo, AsyncError& out);
  // The pool kernels run on (used by the stream thread, or by the JS thread in sync mode when the queue is idle).
  ThreadPool& pool() { return *pool_; }
  // Waits for the queue to drain, then rebuilds the pool with n threads.
  void setThreads(int n);

 private:
  struct Item {
    uint64_t seq;
    std::string op;
    std::function<void(ThreadPool&)> work;
    bool notify;
  };
  void loop();

  std::unique_ptr<ThreadPool> pool_;
  std::function<void()> notify_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable doneCv_;
  std::deque<Item> queue_;
  std::deque<AsyncError> errors_;
  uint64_t submitted_ = 0;  // JS thread only
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> enqueued_{0};  // submitted_, readable from the stream thread
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace eitp
