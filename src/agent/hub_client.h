// The agent's HTTP client for the hub (libcurl): JSON calls and resumable blob downloads.
//
// Every call is bounded: a total timeout per try, a stall limit, and at most `max_attempts`
// tries with exponential backoff and full jitter between them (so a fleet that lost its hub does
// not come back in lockstep). Only transport errors, 429 and 5xx are retried; other answers are
// returned to the caller as they are.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "agent/config.h"
#include "fleet/canonical_json.h"
#include "tern/status.h"

namespace tern::agent {

struct HttpReply {
  long status = 0;
  std::string body;
};

struct DownloadStats {
  uint64_t resumed_from = 0;  ///< bytes already on disk when the first try started
  uint64_t fetched = 0;       ///< bytes received over the network
  int attempts = 0;
};

class HubClient {
 public:
  /// `stop` (may be null) cuts backoff sleeps short when the agent is shutting down.
  HubClient(const AgentConfig& config, const std::atomic<bool>* stop);
  ~HubClient();
  HubClient(const HubClient&) = delete;
  HubClient& operator=(const HubClient&) = delete;

  void set_token(std::string token) { token_ = std::move(token); }

  /// One request with retries. `bearer` overrides the device token (registration).
  Result<HttpReply> Call(const std::string& method, const std::string& path,
                         const std::string& body = "", const std::string& bearer = "",
                         int timeout_s = 0);
  /// POST of a file's bytes as application/octet-stream (blob uploads), with retries.
  Result<HttpReply> Upload(const std::string& path, const std::string& file,
                           const std::string& sha256_hex);
  /// GET that must answer 200 with a JSON body.
  Result<fleet::Json> GetJson(const std::string& path);

  /// Downloads `path` into `partial_file`, resuming from the bytes already there with a Range
  /// request; stops at `expected_size` bytes (more is an error). `on_chunk(total_on_disk)` runs
  /// after each write (crash injection, progress).
  Result<DownloadStats> Download(const std::string& path, const std::string& partial_file,
                                 uint64_t expected_size,
                                 const std::function<void(uint64_t)>& on_chunk);

 private:
  /// `body_file` (not empty): the body streams from that file as application/octet-stream.
  Result<HttpReply> Once(const std::string& method, const std::string& path,
                         const std::string& body, const std::string& bearer, int timeout_s,
                         const std::string& body_file = "",
                         const std::vector<std::string>& extra_headers = {});
  Status DownloadOnce(const std::string& url, const std::string& partial_file,
                      uint64_t expected_size, const std::function<void(uint64_t)>& on_chunk,
                      DownloadStats* stats, bool* retryable);
  /// Sleeps before try `attempt` (1-based); false when the agent is stopping.
  bool Backoff(int attempt);

  const AgentConfig& config_;
  const std::atomic<bool>* stop_;
  std::string token_;
  std::mt19937_64 rng_;
};

}  // namespace tern::agent
