// PostgreSQL plumbing under PgStore: a connection pool, a transaction runner that turns
// libpqxx's exceptions into Status values (nothing throws out of the store) and retries
// transactions PostgreSQL rolled back to resolve a conflict, and the LISTEN thread behind
// Store::WatchChanges(). Only pg_store.cc includes this (it pulls in libpqxx).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "hub/store.h"

namespace tern::hub::pg {

/// Up to `max` open connections, made on demand and handed out one caller at a time
/// (a libpqxx connection is not thread-safe).
class Pool {
 public:
  Pool(std::string url, size_t max) : url_(std::move(url)), max_(max) {}
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// A connection on loan; goes back to the pool when destroyed unless Discard()ed.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ && conn_) pool_->Release(std::move(conn_));
    }
    pqxx::connection& conn() { return *conn_; }
    /// Closes the connection instead of returning it (after it broke).
    void Discard() { conn_.reset(); }

   private:
    Pool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  /// Waits for an idle connection, or opens one while fewer than `max` are open.
  Result<Lease> Acquire();
  const std::string& url() const { return url_; }

 private:
  void Release(std::unique_ptr<pqxx::connection> conn);

  const std::string url_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  size_t open_ = 0;
};

/// "postgresql <what>: <libpqxx message>", with the SQLSTATE when there is one.
Status ErrorFrom(const std::string& what, const std::exception& e);

/// Runs `body(tx)` (returning Result<T>) in one READ COMMITTED transaction and commits when it
/// returns ok; an error leaves nothing behind. A transaction PostgreSQL aborts to break a
/// deadlock or a serialization conflict, or one whose connection dropped, is run again from
/// the start (a few times), so `body` must not have effects outside the transaction that a
/// rerun would repeat.
template <typename T, typename Body>
Result<T> Transact(Pool& pool, const std::string& what, Body&& body) {
  constexpr int kAttempts = 4;
  for (int attempt = 1;; ++attempt) {
    TERN_ASSIGN_OR_RETURN(Pool::Lease lease, pool.Acquire());
    try {
      pqxx::work tx(lease.conn());
      Result<T> out = body(tx);
      if (out.ok()) tx.commit();
      return out;
    } catch (const pqxx::transaction_rollback& e) {
      if (attempt == kAttempts) return ErrorFrom(what, e);
      std::this_thread::sleep_for(std::chrono::milliseconds(5 * attempt));
    } catch (const pqxx::broken_connection& e) {
      // The server closed this connection (a restart, a failover, an idle timeout) before a
      // commit was sent (a lost commit throws in_doubt_error instead): nothing was stored, so
      // the transaction runs again on a fresh connection.
      lease.Discard();
      if (attempt == kAttempts) return ErrorFrom(what, e);
    } catch (const std::exception& e) {
      if (!lease.conn().is_open()) lease.Discard();
      return ErrorFrom(what, e);
    }
  }
}

/// LISTENs on `channel` on a connection of its own and calls `on_change` for every
/// notification, reconnecting (and calling `on_change` once, for what it may have missed)
/// after the connection drops. Stops when destroyed.
class ListenThread final : public ChangeWatch {
 public:
  ListenThread(std::string url, std::string channel, std::function<void()> on_change);
  ~ListenThread() override;
  /// Waits (bounded) until the first LISTEN is in place; false on timeout.
  bool WaitListening(std::chrono::milliseconds timeout);

 private:
  void Run();

  const std::string url_;
  const std::string channel_;
  const std::function<void()> on_change_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool listening_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tern::hub::pg
