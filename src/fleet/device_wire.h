// Wire types between a device agent and the hub beyond registration: the assignment a device
// polls for and the telemetry reports it sends. Both sides use these, so the JSON shapes live in
// one place (docs/api.md). Parsing is strict about types and bounded in size, since
// either side may be talking to a hostile peer.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fleet/canonical_json.h"
#include "fleet/metadata.h"
#include "tern/status.h"

namespace tern::fleet {

/// GET /v1/devices/self/assignment (docs/api.md, "Assignments"): what the device should run.
struct Assignment {
  std::string reason;   ///< "rollout", "baseline", "rollback" or "none"
  std::string model;    ///< empty when reason is "none"
  std::string version;  ///< a published version name; empty when reason is "none"
  int64_t manifest_version = 0;
  Json manifest;           ///< the signed manifest envelope (null when reason is "none")
  std::string rollout_id;  ///< empty when no rollout assigned it
  std::string etag;        ///< changes exactly when the version to run changes (long-poll key)
  int64_t poll_after_s = 0;

  Json ToJson() const;
  static Result<Assignment> FromJson(const Json& j);
};

/// Upper bounds (inclusive, milliseconds) of the hub's latency histogram buckets; one more
/// bucket counts everything slower. Fixed so that reports from every device add up.
inline constexpr std::array<double, 13> kLatencyBoundsMs = {1,   2,   5,    10,   20,   50,   100,
                                                            200, 500, 1000, 2000, 5000, 10000};
constexpr size_t kLatencyBucketCount = kLatencyBoundsMs.size() + 1;

/// Something that happened on a device. Kinds the hub knows travel to it (install → "swap",
/// health_passed/health_failed → "health_check_passed"/"health_check_failed", rollback,
/// refused → "download_failed"); the others (registered, root_updated, ...) stay in the log.
struct TelemetryEvent {
  int64_t time = 0;  ///< Unix seconds
  std::string kind;
  std::string model;
  std::string version;       ///< the version concerned (for a rollback: the one now running)
  std::string from_version;  ///< install and rollback: the version left
  std::string detail;
};

/// One report in the device's on-disk queue, covering [from, to). It is sent to the hub as one
/// telemetry batch (ToHubBatch).
struct TelemetryReport {
  int64_t seq = 0;  ///< per-device sequence number; the batch id, so a resend is recognised
  int64_t from = 0;
  int64_t to = 0;
  std::string model;  ///< active model when the report was cut ("" when none)
  std::string version;
  uint64_t inferences = 0;
  uint64_t errors = 0;
  std::vector<uint64_t> latency_buckets = std::vector<uint64_t>(kLatencyBucketCount, 0);
  std::vector<TelemetryEvent> events;
  uint64_t dropped_reports = 0;  ///< reports the device's bounded queue threw away

  Json ToJson() const;
  static Result<TelemetryReport> FromJson(const Json& j);
  /// The body of POST /v1/telemetry for this report (docs/api.md, "Telemetry").
  Json ToHubBatch(const std::string& device_id) const;
};

/// The bucket index for a latency.
size_t LatencyBucket(uint64_t micros);

}  // namespace tern::fleet
