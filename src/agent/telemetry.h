// Telemetry on the device: counters updated by the inference server (lock-free), events from the
// updater, and a bounded on-disk queue of reports that survives restarts and waits for the hub.
//
//   STATE/telemetry/<seq, 20 digits>.json   one report each, oldest first
//   STATE/telemetry/meta.json               {"next_seq": n, "dropped": m}
//
// When the queue is full the oldest report is deleted and counted; the count travels in the
// next report that reaches the hub.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "agent/hub_client.h"
#include "fleet/device_wire.h"
#include "tern/status.h"

namespace tern::agent {

class Telemetry {
 public:
  Telemetry(std::string state_dir, int max_reports);
  Status Init();

  /// From the serving threads: one inference and how long it took.
  void RecordRun(uint64_t micros, bool ok);
  void AddEvent(int64_t now, const std::string& kind, const std::string& model,
                const std::string& version, const std::string& detail,
                const std::string& from_version = "");

  /// Moves what was counted since the last cut into a report on disk (nothing when idle).
  Status Cut(int64_t now, const std::string& model, const std::string& version);
  /// Sends queued reports oldest first as telemetry batches of `device_id` (the batch id makes
  /// a resend harmless); stops at the first that the hub cannot take now (returns how many were
  /// sent). A report the hub rejects as malformed (400) is dropped and counted, so that one bad
  /// report cannot block the queue forever.
  Result<int> Send(HubClient& client, const std::string& device_id);

  int queued() const;
  uint64_t dropped() const;

 private:
  std::vector<std::string> QueuedFiles() const;
  Status SaveMeta();

  std::string dir_;
  int max_reports_;
  std::atomic<uint64_t> inferences_{0};
  std::atomic<uint64_t> errors_{0};
  std::array<std::atomic<uint64_t>, fleet::kLatencyBucketCount> buckets_{};
  mutable std::mutex mu_;  // guards everything below and the files
  std::vector<fleet::TelemetryEvent> events_;
  int64_t since_ = 0;
  int64_t next_seq_ = 1;
  uint64_t dropped_ = 0;
};

}  // namespace tern::agent
