// A whole hub: data folder, store, keys, blobs, API and HTTP server, put together.
// tools/tern-hub is a thin command line around this.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "hub/api.h"
#include "hub/http_server.h"

namespace tern::hub {

struct HubOptions {
  std::string data_dir;
  std::string store_url;  ///< "" = DATA/hub.db
  /// A folder from `tern keys export` (root chain + targets key); "" = the hub's own keys in DATA.
  std::string key_dir;
  HttpServerOptions http;
  ApiOptions api;
  std::string port_file;  ///< when set, the bound port is written there once listening
  int64_t evaluate_interval_ms = 1000;  ///< how often rollout gates are evaluated
};

class Hub {
 public:
  /// Opens (creating at first start) everything in the data folder and starts listening.
  /// At first start an admin key is written to DATA/admin.key (mode 0600).
  static Result<std::unique_ptr<Hub>> Start(const HubOptions& options);
  ~Hub();

  uint16_t port() const { return server_->port(); }
  /// Serves until SIGTERM/SIGINT or Stop().
  void Run() { server_->Run(); }
  void Stop() { server_->Stop(); }
  /// The request handler, for in-process tests and fuzzing (tests/fuzz/fuzz_hub_body.cc).
  HubApi& api() { return *api_; }

 private:
  Hub() = default;
  void EvaluateLoop(int64_t interval_ms);
  /// Picks up a newer root in the key folder, then re-signs every manifest past half its
  /// validity or signed by a key the current root no longer certifies, so that agents never see
  /// expired or uncertified metadata from a healthy hub.
  Status RefreshManifests();
  /// The stored manifest of `v`, re-signed with the current key under `counter`.
  Result<std::string> Resign(const ModelVersionRecord& v, int64_t counter) const;

  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<HubKeys> keys_;
  std::unique_ptr<RequestMetrics> metrics_;
  std::unique_ptr<LongPoll> long_poll_;
  std::unique_ptr<ChangeWatch> change_watch_;  ///< other replicas' changes → long_poll_
  std::unique_ptr<RolloutService> rollouts_;
  std::unique_ptr<FlService> fl_;
  std::unique_ptr<HubApi> api_;
  std::unique_ptr<HttpServer> server_;
  // The rollout evaluator: a thread that ticks the gates until the hub is destroyed.
  std::mutex evaluator_mu_;
  std::condition_variable evaluator_cv_;
  bool evaluator_stop_ = false;
  std::thread evaluator_;
  std::function<int64_t()> clock_;
  int64_t manifest_ttl_s_ = 0;
  int64_t last_scan_ = 0;  ///< clock_() of the last manifest scan (evaluator thread only)
};

/// Adds an API key ("admin" or "enroll") to the hub's store and returns its token (shown once).
Result<std::string> CreateApiKey(const std::string& data_dir, const std::string& store_url,
                                 const std::string& name, const std::string& role);

}  // namespace tern::hub
