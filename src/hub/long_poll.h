// Long-poll waiters: requests parked until something changes or their deadline passes, without
// holding a server thread each. One thread sleeps until the nearest deadline or a Notify(), then
// lets the waiters re-check (outside the lock: checks read the store and post responses).
//
// Notify() only reaches waiters of this hub process; replicas on one PostgreSQL store also call
// it for each other's changes (Store::WatchChanges, LISTEN/NOTIFY).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

namespace tern::hub {

class LongPoll {
 public:
  /// Called with final = false after a Notify() and with final = true at the deadline (or at
  /// shutdown). Returns true once it has answered; it is then dropped. A final call must answer.
  using Check = std::function<bool(bool final)>;
  using Clock = std::chrono::steady_clock;

  LongPoll();
  ~LongPoll();
  LongPoll(const LongPoll&) = delete;
  LongPoll& operator=(const LongPoll&) = delete;

  /// Parks `check` until `deadline`. After Shutdown() it is called at once with final = true.
  void Add(Clock::time_point deadline, Check check);
  /// Every waiter re-checks soon.
  void Notify();
  /// Answers every waiter (final = true) and stops the thread. Idempotent.
  void Shutdown();
  size_t waiting() const;

 private:
  struct Waiter {
    Clock::time_point deadline;
    Check check;
  };
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::list<Waiter> waiters_;
  bool notified_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tern::hub
