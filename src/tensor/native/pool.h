// A fixed set of persistent worker threads. The calling thread works too, so a pool of
// `threads` starts threads - 1 workers. Idle workers spin briefly (kernels come in quick
// succession during a forward pass) and then sleep on a condition variable.

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

class Pool {
 public:
  using Task = void (*)(void* context, int task);

  explicit Pool(int threads);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Runs task(context, t) for every t in [0, tasks) and returns when all have finished.
  void run(int tasks, Task task, void* context);

 private:
  void work(uint64_t seen);
  void drain();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> next_task_{0};
  std::atomic<int> busy_workers_{0};
  int tasks_ = 0;
  Task task_ = nullptr;
  void* context_ = nullptr;
};

// Runs fn(t) for t in [0, tasks) on the pool; fn is any callable.
template <typename Fn>
void parallel_for(Pool& pool, int tasks, const Fn& fn) {
  pool.run(
      tasks, [](void* context, int t) { (*static_cast<const Fn*>(context))(t); },
      const_cast<Fn*>(&fn));
}
