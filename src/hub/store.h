// The hub's persistent state behind one interface, so SQLite (the default, a file in the data
// folder) and PostgreSQL (several hub replicas on one database) are interchangeable.
//
// Implementations must make every method atomic and safe to call from many threads. Times are
// Unix seconds. JSON columns hold compact JSON text. Schema changes are numbered migrations that
// each implementation applies in order, recording them in schema_migrations; a store written by
// a newer hub (with migrations this hub does not know) is refused.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tern/status.h"

namespace tern::hub {

struct ApiKeyRecord {
  std::string name;
  std::string role;  ///< "admin" or "enroll"
  int64_t created_at = 0;
};

struct BlobRecord {
  std::string sha256;
  uint64_t size = 0;
  int64_t created_at = 0;
};

struct VariantRecord {
  std::string name;
  std::string precision;
  std::string provider;
  std::vector<std::string> cpu_features;
  std::string blob_sha256;
  uint64_t size = 0;
};

struct ModelVersionRecord {
  std::string model;
  std::string version;
  std::string metadata_json;  ///< free-form publisher metadata (an object)
  std::vector<VariantRecord> variants;
  std::string manifest_json;  ///< the signed targets envelope
  int64_t manifest_version = 0;
  int64_t created_at = 0;
};

struct DeviceRecord {
  std::string id;
  std::string name;
  std::string capabilities_json;
  int64_t created_at = 0;
  int64_t last_seen = 0;
  std::string group = "default";  ///< rollouts target groups
  std::string active_model;       ///< what the device last said it runs ("" = unknown)
  std::string active_version;
  int64_t active_at = 0;
};

/// A staged rollout. The state machine (hub/rollout.h) interprets `state`, `stage` and `spec`;
/// the store only keeps them, so every transition is one compare-and-set on `revision`.
struct RolloutRecord {
  std::string id;
  std::string model;
  std::string version;
  std::string previous_version;  ///< what the group returns to on rollback ("" = nothing)
  std::string group;
  std::string spec_json;  ///< stages and gates
  std::string state;      ///< running, paused, halted, aborted, completed
  int64_t stage = 0;      ///< index into the spec's stages
  int64_t stage_started_at = 0;
  std::string reason;           ///< why the last transition happened
  std::string evaluation_json;  ///< the last gate evaluation
  int64_t created_at = 0;
  int64_t updated_at = 0;
  int64_t revision = 0;  ///< bumped by every update
};

struct RolloutEventRecord {
  int64_t at = 0;
  std::string from_state;
  std::string to_state;
  int64_t stage = 0;
  std::string reason;
};

/// Counts for one model version from one batch; `failures` are failed health checks and
/// agent rollbacks away from the version.
struct TelemetryRow {
  std::string model;
  std::string version;
  uint64_t inferences = 0;
  uint64_t errors = 0;
  uint64_t crashes = 0;
  uint64_t failures = 0;
  std::vector<uint64_t> latency_buckets;  ///< counts per hub bucket (hub/telemetry.h)
};

struct TelemetryEventRecord {
  std::string type;
  std::string model;
  std::string version;
  std::string from_version;
  int64_t at = 0;
  std::string detail;
};

struct TelemetryBatchRecord {
  std::string device_id;
  std::string batch_id;
  int64_t received_at = 0;
  std::vector<TelemetryRow> rows;
  std::vector<TelemetryEventRecord> events;
  std::string active_model;  ///< "" = the batch does not say
  std::string active_version;
};

/// One device's sums over a window for one model version.
struct DeviceTelemetry {
  std::string device_id;
  uint64_t inferences = 0;
  uint64_t errors = 0;
  uint64_t crashes = 0;
  uint64_t failures = 0;
  std::vector<uint64_t> latency_buckets;
};

/// Stops the calls of Store::WatchChanges() when destroyed.
class ChangeWatch {
 public:
  virtual ~ChangeWatch() = default;
};

class Store {
 public:
  virtual ~Store() = default;

  /// Applies pending migrations. Called once at startup.
  virtual Status Migrate() = 0;
  /// The highest migration applied.
  virtual Result<int64_t> SchemaVersion() = 0;

  // ---- API keys (only hashes of tokens are stored) ----
  virtual Status InsertApiKey(const std::string& name, const std::string& role,
                              const std::string& token_hash, int64_t now) = 0;
  virtual Result<std::optional<ApiKeyRecord>> FindApiKey(const std::string& token_hash) = 0;
  virtual Result<int64_t> CountApiKeys() = 0;

  // ---- blobs (the files live in the blob store; this is their index) ----
  virtual Status PutBlob(const std::string& sha256, uint64_t size, int64_t now) = 0;
  virtual Result<std::optional<BlobRecord>> FindBlob(const std::string& sha256) = 0;

  // ---- models ----
  /// Makes the model if it is new, takes its next manifest counter, asks `sign(counter)` for the
  /// signed manifest and stores the version with its variants, all in one transaction.
  /// Returns nullopt (and changes nothing) when the version exists already.
  using ManifestSigner = std::function<Result<std::string>(int64_t manifest_version)>;
  virtual Result<std::optional<ModelVersionRecord>> InsertModelVersion(
      const ModelVersionRecord& version, const ManifestSigner& sign) = 0;
  /// Re-signs an existing version's manifest under the model's next manifest counter when its
  /// manifest_version is below `below`, in one transaction. A rollback order must outrank the
  /// manifest devices saw last (agents refuse older ones, which defeats replay). Idempotent under
  /// concurrency: a version already at or above `below` comes back unchanged. nullopt: no such
  /// version.
  virtual Result<std::optional<ModelVersionRecord>> ResignModelVersion(
      const std::string& model, const std::string& version, int64_t below,
      const ManifestSigner& sign) = 0;
  virtual Result<std::vector<std::string>> ListModels() = 0;
  virtual Result<std::vector<ModelVersionRecord>> ListVersions(const std::string& model) = 0;
  virtual Result<std::optional<ModelVersionRecord>> FindVersion(const std::string& model,
                                                                const std::string& version) = 0;

  // ---- devices ----
  virtual Status InsertDevice(const DeviceRecord& device, const std::string& token_hash) = 0;
  virtual Result<std::optional<DeviceRecord>> FindDeviceByToken(const std::string& token_hash) = 0;
  virtual Result<std::optional<DeviceRecord>> FindDevice(const std::string& id) = 0;
  virtual Result<std::vector<DeviceRecord>> ListDevices() = 0;
  virtual Status TouchDevice(const std::string& id, int64_t now) = 0;
  /// False when no such device.
  virtual Result<bool> SetDeviceGroup(const std::string& id, const std::string& group) = 0;
  virtual Result<std::vector<DeviceRecord>> ListDevicesInGroup(const std::string& group) = 0;

  // ---- rollouts ----
  /// Inserts `rollout` with its first event unless its group already has a running or paused
  /// rollout (checked in the same transaction); false then, and nothing changes.
  virtual Result<bool> InsertRollout(const RolloutRecord& rollout,
                                     const RolloutEventRecord& created) = 0;
  virtual Result<std::optional<RolloutRecord>> FindRollout(const std::string& id) = 0;
  virtual Result<std::vector<RolloutRecord>> ListRollouts() = 0;
  /// The group's newest rollout, in any state.
  virtual Result<std::optional<RolloutRecord>> LatestRolloutForGroup(const std::string& group) = 0;
  /// Compare-and-set: stores `rollout` with revision + 1 only when the stored revision still
  /// equals `rollout.revision`, and appends `event` in the same transaction. False on a conflict
  /// (another writer, e.g. a second hub replica, got there first).
  virtual Result<bool> UpdateRollout(const RolloutRecord& rollout,
                                     const std::optional<RolloutEventRecord>& event) = 0;
  virtual Result<std::vector<RolloutEventRecord>> ListRolloutEvents(const std::string& id) = 0;

  // ---- telemetry ----
  /// Stores a batch, its rows and events and the device's active version in one transaction.
  /// False (and nothing changes) when the device sent this batch id before.
  virtual Result<bool> InsertTelemetryBatch(const TelemetryBatchRecord& batch) = 0;
  /// Per-device sums for one model version over batches received at or after `since`.
  virtual Result<std::vector<DeviceTelemetry>> TelemetryByDevice(const std::string& model,
                                                                 const std::string& version,
                                                                 int64_t since) = 0;

  // ---- changes made by other hub processes ----
  /// Calls `on_change` (from a store thread) whenever any hub process on this store commits a
  /// change that may move device assignments (a rollout created or moved, a device regrouped),
  /// so that long-polls parked on every replica wake up. Destroying the watch stops the calls.
  /// nullptr: the store serves one process only (SQLite), whose own signal is enough.
  virtual Result<std::unique_ptr<ChangeWatch>> WatchChanges(std::function<void()> on_change) {
    return std::unique_ptr<ChangeWatch>();
  }
};

/// Opens the store named by `url`: "" (DATA/hub.db), "sqlite:PATH" or
/// "postgresql://USER@HOST:PORT/DB" (hub/pg_store.h).
Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const std::string& data_dir);

}  // namespace tern::hub
