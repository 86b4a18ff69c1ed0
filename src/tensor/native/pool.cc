#include "pool.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
static inline void cpu_relax() { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax() { __asm__ __volatile__("yield"); }
#else
static inline void cpu_relax() {}
#endif

// About 50-100 microseconds of polling before a worker goes to sleep.
static constexpr int kSpinIterations = 4000;

Pool::Pool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(0); });
}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void Pool::drain() {
  for (int t = next_task_.fetch_add(1, std::memory_order_relaxed); t < tasks_;
       t = next_task_.fetch_add(1, std::memory_order_relaxed)) {
    task_(context_, t);
  }
}

void Pool::run(int tasks, Task task, void* context) {
  if (tasks <= 0) return;
  if (workers_.empty() || tasks == 1) {
    for (int t = 0; t < tasks; ++t) task(context, t);
    return;
  }
  task_ = task;
  context_ = context;
  tasks_ = tasks;
  next_task_.store(0, std::memory_order_relaxed);
  busy_workers_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  {
    // Publishing under the mutex means a worker about to sleep cannot miss the new generation.
    std::lock_guard<std::mutex> lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  drain();
  // Spin while the workers finish their last tasks; if one of them is not running (the machine
  // is busy), yield so it can get this core.
  for (int spin = 0; busy_workers_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kSpinIterations) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

void Pool::work(uint64_t seen) {
  for (;;) {
    uint64_t generation = generation_.load(std::memory_order_acquire);
    for (int spin = 0; generation == seen && spin < kSpinIterations; ++spin) {
      cpu_relax();
      generation = generation_.load(std::memory_order_acquire);
    }
    if (generation == seen) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] {
        return stopping_ || generation_.load(std::memory_order_acquire) != seen;
      });
      if (stopping_) return;
      generation = generation_.load(std::memory_order_acquire);
    }
    seen = generation;
    drain();
    busy_workers_.fetch_sub(1, std::memory_order_release);
  }
}
