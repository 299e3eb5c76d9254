// The hub's persistent state behind one interface, so SQLite (the default, a file in the data
// folder) and PostgreSQL (several hub replicas; not written yet) are interchangeable.
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
};

/// Opens the store named by `url`: "" or "sqlite:PATH" (default: DATA/hub.db);
/// "postgresql://..." is recognized and answered with NotImplemented for now.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const std::string& data_dir);

}  // namespace tern::hub
