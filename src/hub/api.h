// The hub's HTTP API (v1): routing, authentication and the endpoint handlers.
// docs/api.md describes every endpoint. Errors are {"error": "..."} with a 4xx/5xx status.
//
// Authentication is a bearer token on every endpoint except GET /v1/health:
//   admin keys   (tern_adm_...) manage everything;
//   enroll keys  (tern_enr_...) may only register devices (baked into device images);
//   device tokens (tern_dev_...) are returned once by registration and read models and blobs.
// Only SHA-256 hashes of tokens are stored. The request is authenticated before its body is read,
// so an unauthenticated upload is refused without being received.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "hub/blob_store.h"
#include "hub/fl_service.h"
#include "hub/http_types.h"
#include "hub/hub_keys.h"
#include "hub/long_poll.h"
#include "hub/metrics.h"
#include "hub/rollout_service.h"
#include "hub/store.h"

namespace tern::hub {

struct ApiOptions {
  uint64_t max_json_body = 1 << 20;         ///< bytes
  uint64_t max_blob_bytes = 4ull << 30;     ///< bytes per uploaded blob
  int64_t manifest_ttl_s = 365 * 86400;     ///< how long a signed manifest stays valid
  std::function<int64_t()> clock;           ///< Unix seconds; defaults to the system clock
  int64_t poll_interval_s = 60;             ///< Retry-After for assignment polls (±20% jitter)
  int64_t max_poll_wait_s = 60;             ///< longest long-poll ("wait" is clamped to it)
};

/// The rollout, long-poll and metrics parts the API hands requests to (owned by the Hub).
struct FleetServices {
  RolloutService* rollouts = nullptr;
  LongPoll* long_poll = nullptr;
  RequestMetrics* metrics = nullptr;
  FlService* fl = nullptr;  ///< federated learning (null: the /v1/fl endpoints answer 404)
};

class HubApi final : public HttpHandler {
 public:
  HubApi(Store* store, BlobStore* blobs, const HubKeys* keys, FleetServices fleet,
         ApiOptions options);

  std::optional<HttpResponse> Admit(const HttpRequest& head, BodyPlan* plan) override;
  /// Like HandleAsync, but a long-poll answers at once.
  HttpResponse Handle(HttpRequest& request) override;
  std::optional<HttpResponse> HandleAsync(HttpRequest& request, Responder respond) override;
  void Stopping() override;

  /// Prefix + hash helpers shared with the CLI (`tern-hub keys create`).
  static std::string NewAdminToken();
  static std::string NewEnrollToken();
  static std::string TokenHash(const std::string& token);

 private:
  struct Principal {
    enum class Kind { kNone, kAdmin, kEnroll, kDevice } kind = Kind::kNone;
    std::string id;  ///< key name or device id
  };
  struct Route;
  Result<Principal> Authenticate(const HttpRequest& request);
  const Route* Match(const HttpRequest& request, bool* path_known) const;
  int64_t Now() const;

  HttpResponse Dispatch(HttpRequest& r, int route_id, const Principal& who);
  HttpResponse Health(const HttpRequest& r);
  HttpResponse GetRoot(const HttpRequest& r);
  HttpResponse PostBlob(HttpRequest& r);
  HttpResponse GetBlob(const HttpRequest& r);
  /// GET /v1/blobs/{target}/delta?from={base}: a zstd patch (made once, kept as a blob).
  HttpResponse GetDelta(const HttpRequest& r);
  HttpResponse ListModels(const HttpRequest& r);
  HttpResponse PostVersion(const HttpRequest& r);
  HttpResponse ListVersions(const HttpRequest& r);
  HttpResponse GetVersion(const HttpRequest& r);
  HttpResponse GetManifest(const HttpRequest& r);
  HttpResponse RegisterDevice(const HttpRequest& r);
  HttpResponse ListDevices(const HttpRequest& r);
  HttpResponse GetDevice(const HttpRequest& r, const Principal& who);
  HttpResponse PatchDevice(const HttpRequest& r);
  // api_fleet.cc: rollouts, assignments, telemetry, metrics.
  std::optional<HttpResponse> GetAssignment(const HttpRequest& r, const Principal& who,
                                            Responder respond);
  HttpResponse PostTelemetry(const HttpRequest& r, const Principal& who);
  HttpResponse PostRollout(const HttpRequest& r);
  HttpResponse ListRollouts(const HttpRequest& r);
  HttpResponse GetRollout(const HttpRequest& r);
  HttpResponse RolloutCommand(const HttpRequest& r);
  HttpResponse Metrics(const HttpRequest& r);
  // fl_api.cc: federated learning (/v1/fl/...).
  HttpResponse Fl(const HttpRequest& r, const Principal& who);
  int64_t JitteredPollInterval() const;

  Store* store_;
  BlobStore* blobs_;
  const HubKeys* keys_;
  FleetServices fleet_;
  ApiOptions options_;
  std::mutex delta_mu_;  ///< one patch computation at a time
};

}  // namespace tern::hub
