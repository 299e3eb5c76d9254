#include "hub/long_poll.h"

#include <vector>

namespace tern::hub {

LongPoll::LongPoll() : thread_([this] { Run(); }) {}

LongPoll::~LongPoll() { Shutdown(); }

void LongPoll::Add(Clock::time_point deadline, Check check) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      waiters_.push_back({deadline, std::move(check)});
      cv_.notify_one();  // the new deadline may be the nearest
      return;
    }
  }
  check(true);
}

void LongPoll::Notify() {
  std::lock_guard<std::mutex> lock(mu_);
  notified_ = true;
  cv_.notify_one();
}

void LongPoll::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

size_t LongPoll::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

void LongPoll::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (!stopping_ && !notified_) {
      if (waiters_.empty()) {
        cv_.wait(lock);
      } else {
        Clock::time_point nearest = waiters_.front().deadline;
        for (const auto& w : waiters_) nearest = std::min(nearest, w.deadline);
        cv_.wait_until(lock, nearest);
      }
    }
    const bool stopping = stopping_;
    const bool notified = notified_;
    notified_ = false;
    const auto now = Clock::now();
    // Take out the waiters to check; run their checks without the lock.
    std::vector<std::pair<Waiter, bool>> due;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      const bool final = stopping || it->deadline <= now;
      if (final || notified) {
        due.emplace_back(std::move(*it), final);
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    std::vector<Waiter> keep;
    for (auto& [w, final] : due) {
      if (!w.check(final) && !final) keep.push_back(std::move(w));
    }
    lock.lock();
    for (auto& w : keep) {
      if (stopping_) {
        lock.unlock();
        w.check(true);
        lock.lock();
      } else {
        waiters_.push_back(std::move(w));
      }
    }
    if (stopping && waiters_.empty()) return;
  }
}

}  // namespace tern::hub
