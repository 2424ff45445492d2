#include "stream.h"

#include "common.h"

namespace eitp {

namespace {
// Short spins before sleeping (see thread-pool.cc). Kept short: with the JS thread, the stream and the pool on a
// small machine, long spins steal the core the JS thread needs to queue the next kernel (measured: 4000 spins made
// a queue-and-wait round trip 4x slower on 2 loaded cores than 200).
constexpr int kSpins = 200;
}  // namespace

Stream::Stream(int threads, std::function<void()> notify, int64_t spinLingerUs)
    : hint_(spinLingerUs),
      pool_(new ThreadPool(threads, &hint_)),
      notify_(std::move(notify)),
      lingerAfterTask_(usableCores() >= 2),
      thread_([this] { loop(); }) {}

Stream::~Stream() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true, std::memory_order_release);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint64_t Stream::enqueue(const char* op, std::function<void(ThreadPool&)> work, bool notify) {
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    seq = ++submitted_;
    queue_.push_back(Item{seq, op, std::move(work), notify});
    enqueued_.store(seq, std::memory_order_release);
  }
  wake_.notify_one();
  return seq;
}

void Stream::loop() {
  // The stream takes every queued item at once and runs them without the lock: taking mu_ once per task made the JS
  // thread's enqueue and the stream contend for it, a futex wait and wake per contention (perf: most of ~200 futex
  // calls per char-GPT power-FTLE step on 1 thread), slow syscalls in a VM. awake_ is false only while it sleeps.
  std::deque<Item> batch;
  ThreadPool::runBesideJs();  // the JS thread runs beside this one: its parallel loops leave JS a core (thread-pool.h)
  for (;;) {
    if (stop_.load(std::memory_order_acquire)) return;  // queued work is dropped, as before batching
    if (batch.empty()) {
      spinFor([&] { return enqueued_.load(std::memory_order_acquire) != completed_.load(std::memory_order_relaxed); }, kSpins, &hint_,
              lingerAfterTask_);
      std::unique_lock<std::mutex> lock(mu_);
      if (queue_.empty() && !stop_.load(std::memory_order_relaxed)) {
        awake_.store(false, std::memory_order_relaxed);
        wake_.wait(lock, [&] { return stop_.load(std::memory_order_relaxed) || !queue_.empty(); });
        awake_.store(true, std::memory_order_relaxed);
      }
      if (stop_.load(std::memory_order_relaxed)) return;
      batch.swap(queue_);
    }
    Item item = std::move(batch.front());
    batch.pop_front();
    const bool timed = profiling_.load(std::memory_order_relaxed);
    const auto start = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    try {
      item.work(*pool_);
    } catch (const std::exception& e) {
      const KernelError* ke = dynamic_cast<const KernelError*>(&e);
      std::lock_guard<std::mutex> lock(mu_);
      errors_.push_back(AsyncError{item.seq, item.op, e.what(), ke && ke->argument});
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      errors_.push_back(AsyncError{item.seq, item.op, "unknown C++ exception", false});
    }
    item.work = nullptr;  // release captured buffers before announcing completion
    const auto end = timed ? std::chrono::steady_clock::now() : start;
    if (timed) record(item.op, start, end);
    // seq_cst store, then load: a waiter registers before it checks completed_ (waitFor), so either it sees this
    // seq or this sees it and wakes it under the lock (no wake-up lost, and no lock taken when nobody waits).
    completed_.store(item.seq, std::memory_order_seq_cst);
    if (doneWaiters_.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lock(mu_); }
      doneCv_.notify_all();
    }
    if (item.notify && notify_) notify_();
  }
}

void Stream::setProfiling(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  if (on) {
    samples_.clear();
    profileStart_ = std::chrono::steady_clock::now();
  }
  profiling_.store(on, std::memory_order_relaxed);
}

void Stream::record(const std::string& op, std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end) {
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  std::lock_guard<std::mutex> lock(mu_);
  samples_.push_back(KernelSample{op, duration_cast<nanoseconds>(start - profileStart_).count(), duration_cast<nanoseconds>(end - start).count()});
}

std::vector<KernelSample> Stream::takeProfile() {
  std::vector<KernelSample> out;
  std::lock_guard<std::mutex> lock(mu_);
  out.swap(samples_);
  return out;
}

void Stream::waitFor(uint64_t seq) {
  if (spinFor([&] { return completed() >= seq; }, kSpins, nullptr)) return;
  beginJsWait();
  doneWaiters_.fetch_add(1, std::memory_order_seq_cst);
  {
    std::unique_lock<std::mutex> lock(mu_);
    doneCv_.wait(lock, [&] { return completed_.load(std::memory_order_seq_cst) >= seq; });
  }
  doneWaiters_.fetch_sub(1, std::memory_order_relaxed);
  endJsWait();
}

void Stream::beginJsWait() {
  hint_.beginWait();
  pool_->widen();
}

bool Stream::takeError(uint64_t upTo, AsyncError& out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (errors_.empty() || errors_.front().seq > upTo) return false;
  out = std::move(errors_.front());
  errors_.pop_front();
  return true;
}

void Stream::setThreads(int n) {
  waitFor(submitted_);
  pool_.reset(new ThreadPool(n, &hint_));
}

}  // namespace eitp
