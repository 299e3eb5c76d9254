// A fixed pool of worker threads for intra-op parallelism. ParallelFor splits [0, n) into
// contiguous chunks, one per participating thread (the caller takes part), so a pool of T threads
// never runs more than T chunks at once: no oversubscription when kernels nest calls (a nested
// ParallelFor runs inline).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tern {

class ThreadPool {
 public:
  /// `threads` counts the caller: 1 means no worker threads.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  /// Calls fn(begin, end) over disjoint ranges covering [0, n). Blocks until all are done.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t)>& fn);
  static int DefaultThreads();

 private:
  void WorkerLoop(int index);

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const std::function<void(int64_t, int64_t)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int job_chunks_ = 0;
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::mutex run_mu_;  // one ParallelFor at a time per pool; others run inline
};

}  // namespace tern
