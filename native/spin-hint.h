// When the stream and pool threads may keep spinning for their next work item instead of sleeping.
//
// A sleeping thread costs a futex wake per parallel loop, and on a small VM the woken thread often starts ~100 us
// later (a 64x784x256 product: 212 us on the stream against 115-150 us run by the JS thread itself, 2 cores). Spinning
// always is no cure: while the JS thread runs ahead queueing kernels, a spinning worker takes the core it needs. But
// while the JS thread waits for the stream (a read it awaits, a sync, backpressure), its core is free and whatever
// the stream does next is on the critical path. So the threads spin on while JS waits, and for a short linger after
// (the JS thread's turnaround to the next kernel: resolve the read, dispose, queue), up to a cap per idle period.
// The linger ends early once JS queues more than a few kernels (the addon's eager-use count): it is running ahead.
//
// The stream thread also lingers after each task it runs (spinFor's afterTask, where the process has two cores or
// more): while JS runs ahead queueing small kernels, the stream often drains its queue between two calls, and each
// call that finds it asleep pays a futex wake on the JS thread (a syscall, slow in a VM) and the stream's wake-up
// latency. The pool workers still stop lingering then: a worker spinning beside the stream is what takes JS's core.
// (Futex calls per char-GPT power-FTLE step, with the stream taking its queue whole: 213 -> 16 on 1 thread; README.)
//
// Where the pool has as many threads as the process has cores, its workers take no hint at all: they sleep after
// their short fixed spin (thread-pool.cc). There, while JS runs, the stream's loops take no worker (ThreadPool::width);
// and a worker spinning while JS waits still held a core when JS woke: on 2 cores an MLP EIT-P step's worker spun
// ~0.35 ms of CPU per step, the JS thread waited twice as long for a core (/proc schedstat), and EIT-P steps ran at
// 0.64-0.96x the speed of one pool thread on two (README).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace eitp {

// One pause in a spin-wait loop (it lets the core's other hardware thread run, and saves power).
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

class SpinHint {
 public:
  // lingerUs: how long after a wait the threads keep spinning; 0 turns the hint off (sleep after the fixed spins).
  explicit SpinHint(int64_t lingerUs) : lingerNs_(lingerUs * 1000) {}

  void setLingerUs(int64_t us) { lingerNs_.store(us * 1000, std::memory_order_relaxed); }
  int64_t lingerUs() const { return lingerNs_.load(std::memory_order_relaxed) / 1000; }

  static int64_t nowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  // The JS thread starts / stops waiting for the stream (calls nest: pending reads and a sync may overlap).
  void beginWait() { waiters_.fetch_add(1, std::memory_order_acq_rel); }
  void endWait() {
    lastEnd_.store(nowNs(), std::memory_order_relaxed);
    waiters_.fetch_sub(1, std::memory_order_acq_rel);
  }

  // JS is running ahead again (it queued several kernels since its wait): the linger ends early, so that spinning
  // threads do not take the core it queues on.
  void endLinger() { lastEnd_.store(0, std::memory_order_relaxed); }

  bool enabled() const { return lingerNs_.load(std::memory_order_relaxed) > 0; }
  // Whether the JS thread is waiting for the stream now (a sync, backpressure, or a pending read), whatever the linger.
  bool jsWaiting() const { return waiters_.load(std::memory_order_acquire) > 0; }
  // Whether a thread that went idle at idleSinceNs may still spin at nowNs.
  bool spin(int64_t idleSinceNs, int64_t now) const { return spinning(idleSinceNs, now, false); }
  // The same, for the stream thread after a task it ran (its linger after each task; see the top of this file).
  bool spinAfterTask(int64_t idleSinceNs, int64_t now) const { return spinning(idleSinceNs, now, true); }

 private:
  // A thread spins at most this long per idle period, then sleeps even while JS still waits (a long single-threaded
  // kernel ahead in the queue would otherwise keep a worker spinning beside it).
  static constexpr int64_t kMaxSpinNs = 2'000'000;
  std::atomic<int64_t> lingerNs_;
  std::atomic<int> waiters_{0};
  std::atomic<int64_t> lastEnd_{0};

  bool spinning(int64_t idleSinceNs, int64_t now, bool afterTask) const {
    const int64_t linger = lingerNs_.load(std::memory_order_relaxed);
    if (linger <= 0 || now - idleSinceNs > kMaxSpinNs) return false;
    if (afterTask && now - idleSinceNs < linger) return true;
    return jsWaiting() || now - lastEnd_.load(std::memory_order_relaxed) < linger;
  }
};

// Spins until done() is true: `spins` pauses, then on while the hint allows (its rule for the stream thread after a
// task when afterTask); returns done().
template <typename Done>
bool spinFor(const Done& done, int spins, const SpinHint* hint, bool afterTask = false) {
  for (int i = 0; i < spins; i++) {
    if (done()) return true;
    cpuRelax();
  }
  if (!hint || !hint->enabled()) return done();
  const int64_t idleSince = SpinHint::nowNs();
  for (;;) {
    // the clock read (~25 ns) once per 32 pauses
    for (int i = 0; i < 32; i++) {
      if (done()) return true;
      cpuRelax();
    }
    const int64_t now = SpinHint::nowNs();
    if (!(afterTask ? hint->spinAfterTask(idleSince, now) : hint->spin(idleSince, now))) return done();
  }
}

}  // namespace eitp
