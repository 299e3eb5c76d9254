// Telemetry from devices: the batch format (POST /v1/telemetry), its validation, and the latency
// histogram the gates read. Histograms use fixed bucket bounds so that batches from any device
// add up bucket by bucket; a device sends its counts for exactly these bounds.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "fleet/device_wire.h"
#include "hub/store.h"
#include "tern/status.h"

namespace tern::hub {

/// Upper bounds of the latency buckets in milliseconds; one more bucket counts the rest.
/// (Shared with tern-agent through src/fleet/device_wire.h.)
inline constexpr const auto& kLatencyBoundsMs = fleet::kLatencyBoundsMs;
inline constexpr size_t kLatencyBuckets = fleet::kLatencyBucketCount;

/// Event types a batch may carry.
inline constexpr const char* kTelemetryEventTypes[] = {
    "swap", "rollback", "health_check_passed", "health_check_failed", "crash", "download_failed"};

struct TelemetryLimits {
  size_t max_reports = 64;
  size_t max_events = 256;
  uint64_t max_count = 1ull << 40;  ///< any single counter
};

/// Parses and checks a batch body for `device_id`. Failures (health_check_failed, rollback
/// away from a version, crash) become rows with `failures` set against the version that failed,
/// and swaps become empty rows, so that one query over rows finds every device that ran a version.
Result<TelemetryBatchRecord> ParseTelemetryBatch(const nlohmann::json& body,
                                                 const std::string& device_id, int64_t now,
                                                 const TelemetryLimits& limits = {});

/// The q-quantile (0..1) of a bucketed histogram in ms, interpolated linearly inside the bucket
/// (as Prometheus' histogram_quantile does); the overflow bucket answers with the last bound.
/// nullopt when the histogram is empty.
std::optional<double> HistogramQuantile(const std::vector<uint64_t>& buckets, double q);

}  // namespace tern::hub
