// Wire types between a device agent and the hub beyond registration: the assignment a device
// polls for and the telemetry reports it sends. Both sides use these, so the JSON shapes live in
// one place (docs/api.md, "Planned"). Parsing is strict about types and bounded in size, since
// either side may be talking to a hostile peer.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fleet/canonical_json.h"
#include "tern/status.h"

namespace tern::fleet {

/// GET /v1/devices/self/assignment: which model version this device should run.
struct Assignment {
  std::string model;
  std::string version;     ///< a published version name
  std::string rollout_id;  ///< empty when the version was not assigned by a rollout
  int64_t revision = 0;    ///< grows whenever the device's assignment changes (long-poll key)

  Json ToJson() const;
  static Result<Assignment> FromJson(const Json& j);
};

/// Upper bounds (inclusive, microseconds) of the latency histogram buckets; one more bucket
/// counts everything slower. Fixed so that reports from every device add up.
inline constexpr std::array<uint64_t, 13> kLatencyBucketsUs = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};
constexpr size_t kLatencyBucketCount = kLatencyBucketsUs.size() + 1;

/// Something that happened on a device: "install", "rollback", "refused", "download_resumed"...
struct TelemetryEvent {
  int64_t time = 0;  ///< Unix seconds
  std::string kind;
  std::string model;
  std::string version;
  std::string detail;
};

/// POST /v1/telemetry: one batch, covering [from, to).
struct TelemetryReport {
  int64_t seq = 0;  ///< per-device sequence number, so the hub can drop duplicates of a resend
  int64_t from = 0;
  int64_t to = 0;
  std::string model;  ///< active model when the batch was cut ("" when none)
  std::string version;
  uint64_t inferences = 0;
  uint64_t errors = 0;
  std::vector<uint64_t> latency_us_buckets = std::vector<uint64_t>(kLatencyBucketCount, 0);
  std::vector<TelemetryEvent> events;
  uint64_t dropped_reports = 0;  ///< reports the device's bounded queue threw away

  Json ToJson() const;
  static Result<TelemetryReport> FromJson(const Json& j);
};

/// The bucket index for a latency.
size_t LatencyBucket(uint64_t micros);

}  // namespace tern::fleet
