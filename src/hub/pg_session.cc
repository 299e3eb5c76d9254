#include "hub/pg_session.h"

#include <cstdio>

#include "hub/pg_store.h"

namespace tern::hub::pg {
namespace {

// Calls its function for each notification on one channel of one connection.
class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, const std::string& channel,
           const std::function<void()>& on_change)
      : pqxx::notification_receiver(conn, channel), on_change_(on_change) {}
  void operator()(const std::string&, int) override { on_change_(); }

 private:
  const std::function<void()>& on_change_;
};

}  // namespace

Result<Pool::Lease> Pool::Acquire() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;  // a slot for the connection made below, outside the lock
  }
  try {
    return Lease(this, std::make_unique<pqxx::connection>(url_));
  } catch (const std::exception& e) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      --open_;
    }
    cv_.notify_one();
    return ErrorFrom("connect to " + RedactStoreUrl(url_), e);
  }
}

void Pool::Release(std::unique_ptr<pqxx::connection> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (conn && conn->is_open()) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  cv_.notify_one();
}

Status ErrorFrom(const std::string& what, const std::exception& e) {
  std::string msg = e.what();
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e); sql && !sql->sqlstate().empty()) {
    msg += " (SQLSTATE " + sql->sqlstate() + ")";
  }
  return IoError("postgresql " + what + ": " + msg);
}

ListenThread::ListenThread(std::string url, std::string channel, std::function<void()> on_change)
    : url_(std::move(url)), channel_(std::move(channel)), on_change_(std::move(on_change)) {
  thread_ = std::thread([this] { Run(); });
}

ListenThread::~ListenThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ListenThread::WaitListening(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return listening_; });
}

void ListenThread::Run() {
  bool missed = false;
  while (!stop_) {
    try {
      pqxx::connection conn(url_);
      Receiver receiver(conn, channel_, on_change_);
      {
        std::lock_guard<std::mutex> lock(mu_);
        listening_ = true;
      }
      cv_.notify_all();
      // Notifications sent while no connection listened are gone: let waiters re-check.
      if (missed) on_change_();
      missed = false;
      // Short waits so that a stop is noticed within a quarter second.
      while (!stop_) conn.await_notification(0, 250000);
    } catch (const std::exception& e) {
      if (!missed) {
        std::fprintf(stderr, "tern-hub: postgresql LISTEN %s: %s; reconnecting\n", channel_.c_str(),
                     e.what());
      }
      missed = true;
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_.load(); });
    }
  }
}

}  // namespace tern::hub::pg
