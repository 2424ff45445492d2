#include "thread-pool.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>
#include <string>
#ifdef __linux__
#include <sched.h>
#endif

namespace eitp {

namespace {

// Waiting threads spin this many times (with a pause) before sleeping on a condition variable: kernels issue
// parallel loops back to back, and a futex wake-up costs tens of microseconds, more than a small loop runs.
constexpr int kSpins = 1000;

// Set while a thread runs a share of a parallel loop: a nested parallel loop then runs serially instead of
// re-entering the pool (which would deadlock).
thread_local bool insideParallel = false;

// Set on the stream thread (ThreadPool::runBesideJs).
thread_local bool besideJs = false;
}  // namespace

int usableCores() {
#ifdef __linux__
  // The affinity mask, not the machine's core count: containers and taskset restrict it.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
#endif
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

int defaultThreadCount() {
  if (const char* env = std::getenv("EITP_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return std::min(n, 256);
  }
  return usableCores();
}

// cores_ only matters with workers; a serial pool (the argument checks make one per queued call) makes no syscall.
ThreadPool::ThreadPool(int threads, const SpinHint* hint)
    : threads_(std::max(1, threads)), hint_(hint), cores_(threads_ > 1 ? usableCores() : 1) {
  for (int i = 1; i < threads_; i++) workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

int64_t ThreadPool::work(uint32_t gen, const std::function<void(int64_t, int)>* fn, int64_t n, int thread) {
  insideParallel = true;
  struct Reset {
    ~Reset() { insideParallel = false; }
  } reset;
  for (int64_t claimed = 0;; claimed++) {
    uint64_t c = claim_.load(std::memory_order_acquire);
    int64_t i;
    do {
      if (static_cast<uint32_t>(c >> 32) != gen) return claimed;  // a newer job: this one is complete
      i = static_cast<int64_t>(c & 0xffffffffu);
      if (i >= n) return claimed;
    } while (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire));
    if (!failed_.load(std::memory_order_relaxed)) {
      try {
        (*fn)(i, thread);
      } catch (...) {
        std::lock_guard<std::mutex> lock(errorMu_);
        if (!error_) error_ = std::current_exception();
        failed_.store(true, std::memory_order_relaxed);
      }
    }
    if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == n) {
      std::lock_guard<std::mutex> lock(mu_);
      done_.notify_all();
    }
  }
}

void ThreadPool::workerLoop(int id) {
  uint32_t seen = 0;
  bool took = true;  // whether this worker took part in job `seen` (a job it skipped may still widen: widen())
  for (;;) {
    // Spin for the next job before sleeping: briefly, or on while the JS thread waits for the stream where the pool
    // leaves JS a core of its own (spin-hint.h).
    spinFor([&] { return static_cast<uint32_t>(claim_.load(std::memory_order_acquire) >> 32) != seen; }, kSpins, cores_ > threads_ ? hint_ : nullptr);
    uint32_t gen;
    const std::function<void(int64_t, int)>* fn;
    int64_t n;
    bool late;
    {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_++;
      wake_.wait(lock, [&] { return stop_ || generation_ != seen || (!took && fn_ && joined_ < joinLimit_); });
      sleepers_--;
      if (stop_) return;
      if (generation_ != seen) {
        seen = generation_;
        took = false;
      }
      // The job has the threads it may take, or is over: wait for the next one (or for this one to widen).
      if (!fn_ || joined_ >= joinLimit_) continue;
      joined_++;
      took = true;
      late = widened_;
      gen = seen;
      fn = fn_;
      n = n_;
    }
    if (work(gen, fn, n, id) > 0 && late) lateJoins_.fetch_add(1, std::memory_order_relaxed);
  }
}

void ThreadPool::runBesideJs() { besideJs = true; }

void ThreadPool::widen() {
  uint32_t gen;
  const std::function<void(int64_t, int)>* fn;
  int64_t n;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fn_ || joinLimit_ >= threads_ - 1) return;
    joinLimit_ = threads_ - 1;
    widened_ = true;
    // The caller (the JS thread, about to wait) takes the first free place itself: a sleeping worker would start
    // only once the JS thread has gone to sleep and left it the core.
    joined_++;
    wake = joined_ < joinLimit_ && sleepers_ > 0;
    gen = generation_;
    fn = fn_;
    n = n_;
  }
  if (wake) wake_.notify_all();
  if (work(gen, fn, n, threads_) > 0) helped_.fetch_add(1, std::memory_order_relaxed);
}

int ThreadPool::width() const {
  if (!besideJs || !hint_ || cores_ > threads_ || hint_->jsWaiting()) return threads_;
  return std::max(1, cores_ - 1);
}

void ThreadPool::parallelFor(int64_t n, const std::function<void(int64_t, int)>& fn) { run(n, fn, true); }

void ThreadPool::run(int64_t n, const std::function<void(int64_t, int)>& fn, bool wakeSleepers) {
  if (n <= 0) return;
  const int threads = insideParallel ? 1 : width();
  const bool narrowed = threads < threads_ && !insideParallel && n > 1;
  if (narrowed) narrowed_.fetch_add(1, std::memory_order_relaxed);
  // A narrowed loop is still published as a job: if JS starts waiting while it runs, widen() lets workers join it.
  if ((threads == 1 && !narrowed) || n == 1) {
    for (int64_t i = 0; i < n; i++) fn(i, 0);
    return;
  }
  if (n > 0xffffffffLL) throw std::length_error("parallelFor: too many items");
  uint32_t gen;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake = wakeSleepers && sleepers_ > 0 && threads > 1;  // a narrowed job to itself wakes nobody
    joinLimit_ = threads - 1;
    joined_ = 0;
    widened_ = false;
    gen = ++generation_;
    fn_ = &fn;
    n_ = n;
    finished_.store(0, std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    claim_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);
    // JS may have begun waiting since width() chose the narrow width: its widen() (which runs after it counts itself a
    // waiter, under mu_) then found no loop, so this one takes its full width now, JS itself taking no place.
    if (narrowed && hint_->jsWaiting()) {
      joinLimit_ = threads_ - 1;
      widened_ = true;
      wake = sleepers_ > 0;
    }
  }
  // Spinning workers see the new job by themselves; sleeping ones need the wake-up, which quiet jobs skip.
  if (wake) wake_.notify_all();
  work(gen, &fn, n, 0);
  // Only items already claimed by workers can still be running.
  spinFor([&] { return finished_.load(std::memory_order_acquire) == n; }, kSpins, nullptr);
  {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [&] { return finished_.load(std::memory_order_acquire) == n; });
    fn_ = nullptr;
  }
  if (error_) {
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
}

void ThreadPool::parallelRange(int64_t total, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (total <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t chunks = std::min<int64_t>(threads_ * 4, (total + grain - 1) / grain);
  if (chunks <= 1 || insideParallel) {
    fn(0, total);
    return;
  }
  int64_t size = (total + chunks - 1) / chunks;
  run(chunks, [&](int64_t c, int) {
    int64_t b = c * size;
    int64_t e = std::min(total, b + size);
    if (b < e) fn(b, e);
  }, chunks > kQuietChunks);
}

}  // namespace eitp
