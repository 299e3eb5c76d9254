// The PostgreSQL server the hub tests run against, and a fresh database per test.
//
// The server is, in order: $TERN_TEST_PG_URL; the throwaway cluster the CTest fixture started
// (tests/hub/pg_test_cluster.sh, URL in $TERN_TEST_PG_STATE/url); or, when the test binary runs
// on its own, a cluster it starts with the same script and stops at exit. When none is
// available the PostgreSQL tests skip with the reason, except under CI=true, where they fail.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "fleet/file_util.h"

namespace tern::hub::testing {

struct PgServer {
  std::string url;    ///< "" when there is none
  std::string error;  ///< why there is none
};

inline std::string TrimmedLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

inline std::string ReadStateFile(const std::string& path) {
  auto r = fleet::ReadFile(path);
  return r.ok() ? TrimmedLine(*r) : "";
}

// A cluster this process started itself; stopped at exit.
inline std::string& OwnClusterState() {
  static std::string state;
  return state;
}

inline void StopOwnCluster() {
  if (OwnClusterState().empty()) return;
  std::string cmd = std::string(TERN_PG_CLUSTER_SCRIPT) + " stop " + OwnClusterState();
  (void)std::system(cmd.c_str());
  std::filesystem::remove_all(OwnClusterState());
}

inline PgServer FindPgServer() {
  if (const char* url = std::getenv("TERN_TEST_PG_URL"); url && *url) return {url, ""};
  if (const char* state = std::getenv("TERN_TEST_PG_STATE"); state && *state) {
    std::string url = ReadStateFile(std::string(state) + "/url");
    if (!url.empty()) return {url, ""};
    std::string why = ReadStateFile(std::string(state) + "/error");
    return {"", "the CTest fixture's PostgreSQL cluster is not running" +
                    (why.empty() ? std::string() : ": " + why)};
  }
  std::string pattern = (std::filesystem::temp_directory_path() / "tern-pgstate-XXXXXX").string();
  if (!mkdtemp(pattern.data())) return {"", "cannot make a temporary folder"};
  OwnClusterState() = pattern;
  std::atexit(StopOwnCluster);
  std::string cmd = std::string(TERN_PG_CLUSTER_SCRIPT) + " start " + pattern + " >/dev/null";
  (void)std::system(cmd.c_str());
  std::string url = ReadStateFile(pattern + "/url");
  if (!url.empty()) return {url, ""};
  return {"", "could not start a PostgreSQL cluster: " + ReadStateFile(pattern + "/error")};
}

inline const PgServer& TestPgServer() {
  static const PgServer server = FindPgServer();
  return server;
}

/// Skips the test when there is no PostgreSQL, or fails it under CI=true.
#define TERN_REQUIRE_POSTGRES()                                         \
  do {                                                                  \
    const auto& pg_server_ = ::tern::hub::testing::TestPgServer();      \
    if (pg_server_.url.empty()) {                                       \
      const char* ci_ = std::getenv("CI");                              \
      if (ci_ && std::string(ci_) == "true") {                          \
        FAIL() << "PostgreSQL is required in CI: " << pg_server_.error; \
      }                                                                 \
      GTEST_SKIP() << "no PostgreSQL: " << pg_server_.error;            \
    }                                                                   \
  } while (0)

/// The stores a parameterized hub test runs on.
enum class StoreBackend { kSqlite, kPostgres };

inline std::string StoreBackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param == StoreBackend::kSqlite ? "sqlite" : "postgresql";
}

inline auto AllStoreBackends() {
  return ::testing::Values(StoreBackend::kSqlite, StoreBackend::kPostgres);
}

// Runs fn(i) on `n` threads released together (so that they overlap) and waits for them.
template <typename Fn>
inline void InParallel(int n, Fn fn) {
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&fn, &start, i] {
      start.arrive_and_wait();
      fn(i);
    });
  }
  for (auto& t : threads) t.join();
}

/// Replaces the database name (the path) of a postgresql:// URL.
inline std::string WithDatabase(const std::string& url, const std::string& db) {
  const auto slash = url.find('/', url.find("://") + 3);
  return (slash == std::string::npos ? url : url.substr(0, slash)) + "/" + db;
}

/// Runs statements outside a transaction (CREATE DATABASE needs that).
inline void ExecOn(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

/// An empty database for one test on the test server; dropped by the destructor.
class TestDatabase {
 public:
  TestDatabase() {
    static std::atomic<int> counter{0};
    name_ = "tern_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    admin_url_ = TestPgServer().url;
    ExecOn(admin_url_, "DROP DATABASE IF EXISTS " + name_);
    ExecOn(admin_url_, "CREATE DATABASE " + name_);
    url_ = WithDatabase(admin_url_, name_);
  }
  ~TestDatabase() {
    try {
      ExecOn(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& e) {
      std::fprintf(stderr, "dropping %s: %s\n", name_.c_str(), e.what());
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& url() const { return url_; }
  /// Runs `sql` on this database.
  void Exec(const std::string& sql) const { ExecOn(url_, sql); }

 private:
  std::string name_;
  std::string admin_url_;
  std::string url_;
};

}  // namespace tern::hub::testing
