// Pieces both stores share: the column lists they select (plain SQL, the same in SQLite and
// PostgreSQL) and the decoding of JSON columns, so the two cannot drift apart.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hub/store.h"

namespace tern::hub {

inline constexpr const char* kDeviceColumns =
    "SELECT id, name, capabilities, created_at, last_seen, device_group, active_model, "
    "active_version, active_at FROM devices";

inline constexpr const char* kRolloutColumns =
    "SELECT id, model, version, previous_version, device_group, spec, state, stage, "
    "stage_started_at, reason, evaluation, created_at, updated_at, revision FROM rollouts";

/// A JSON array of strings as a vector (anything else: empty).
std::vector<std::string> StringListFromJson(const std::string& text);

/// Adds one telemetry_rows row to `out`, which holds per-device sums in device order: the row
/// joins the last entry when it is the same device (rows arrive ordered by device).
void AddTelemetryRow(std::vector<DeviceTelemetry>* out, const std::string& device_id,
                     int64_t inferences, int64_t errors, int64_t crashes, int64_t failures,
                     const std::string& latency_buckets_json);

}  // namespace tern::hub
