// PgStore: the Store interface on PostgreSQL (see pg_store.h for what keeps replicas safe).
// Every statement takes its values as parameters ($1, $2, ...); the only SQL text not written
// here is the fixed migration list.
#include "hub/pg_store.h"

#include <nlohmann/json.hpp>

#include "hub/migrations.h"
#include "hub/pg_session.h"
#include "hub/store_rows.h"

namespace tern::hub {
namespace {

using Json = nlohmann::json;

// Connections per hub process: the HTTP threads, the rollout evaluator and the long-poll
// checks each hold one for a single short transaction at a time.
constexpr size_t kPoolSize = 8;
// Advisory lock keys ("tern" in the high bits): one bigint key for migrations, and an int4
// class with one key per device group (hashtext of its name; a collision only serializes two
// groups' rollout creation).
constexpr int64_t kMigrationLock = 0x7465726e00000001;
constexpr int32_t kRolloutGroupLockClass = 0x7465726e;
// NOTIFY channel for "device assignments may have changed".
constexpr const char* kChangeChannel = "tern_hub_changes";

std::string Text(const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); }
int64_t Int(const pqxx::field& f) { return f.is_null() ? 0 : f.as<int64_t>(); }

DeviceRecord DeviceFromRow(const pqxx::row& r) {
  return DeviceRecord{Text(r[0]), Text(r[1]), Text(r[2]), Int(r[3]), Int(r[4]),
                      Text(r[5]), Text(r[6]), Text(r[7]), Int(r[8])};
}

RolloutRecord RolloutFromRow(const pqxx::row& r) {
  RolloutRecord out;
  out.id = Text(r[0]);
  out.model = Text(r[1]);
  out.version = Text(r[2]);
  out.previous_version = Text(r[3]);
  out.group = Text(r[4]);
  out.spec_json = Text(r[5]);
  out.state = Text(r[6]);
  out.stage = Int(r[7]);
  out.stage_started_at = Int(r[8]);
  out.reason = Text(r[9]);
  out.evaluation_json = Text(r[10]);
  out.created_at = Int(r[11]);
  out.updated_at = Int(r[12]);
  out.revision = Int(r[13]);
  return out;
}

template <typename Record>
std::optional<Record> FirstRow(const pqxx::result& rows, Record (*decode)(const pqxx::row&)) {
  if (rows.empty()) return std::nullopt;
  return decode(rows[0]);
}

template <typename Record>
std::vector<Record> AllRows(const pqxx::result& rows, Record (*decode)(const pqxx::row&)) {
  std::vector<Record> out;
  out.reserve(rows.size());
  for (const auto& row : rows) out.push_back(decode(row));
  return out;
}

// Delivered to every LISTENing hub when (and only if) the transaction commits.
void NotifyChange(pqxx::work& tx) {
  tx.exec_params("SELECT pg_notify($1, '')", std::string(kChangeChannel));
}

void AppendRolloutEvent(pqxx::work& tx, const std::string& id, const RolloutEventRecord& e) {
  // The rollout's row lock (taken by the insert or the compare-and-set update in the same
  // transaction) serializes appends, so MAX(seq) + 1 cannot be taken twice.
  tx.exec_params(
      "INSERT INTO rollout_events (rollout_id, seq, at, from_state, to_state, stage, reason) "
      "VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM rollout_events WHERE rollout_id = $1), "
      "$2, $3, $4, $5, $6)",
      id, e.at, e.from_state, e.to_state, e.stage, e.reason);
}

// Applies the pending migrations in `tx`. Replicas starting together queue on the advisory
// lock; each then sees what the first applied.
Result<bool> MigrateIn(pqxx::work& tx) {
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLock);
  tx.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
      "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  const int64_t current =
      Int(tx.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0]);
  const auto& all = Migrations();
  const int64_t known = all.empty() ? 0 : all.back().version;
  if (current > known) {
    return Status(StatusCode::kFailedPrecondition, "database schema v" + std::to_string(current) +
                                                       " is newer than this hub knows (v" +
                                                       std::to_string(known) + ")");
  }
  for (const auto& m : all) {
    if (m.version <= current) continue;
    try {
      tx.exec(m.sql);
    } catch (const pqxx::sql_error& e) {
      return pg::ErrorFrom("migration " + std::to_string(m.version), e);
    }
    tx.exec_params(
        "INSERT INTO schema_migrations (version, name, applied_at) "
        "VALUES ($1, $2, EXTRACT(EPOCH FROM now())::BIGINT)",
        m.version, std::string(m.name));
  }
  return true;
}

class PgStore final : public Store {
 public:
  explicit PgStore(const std::string& url) : pool_(url, kPoolSize) {}

  Status Check() {
    return Tx<bool>("connect", [](pqxx::work&) -> Result<bool> { return true; }).status();
  }

  Status Migrate() override { return Tx<bool>("migrate", MigrateIn).status(); }

  Result<int64_t> SchemaVersion() override {
    return Tx<int64_t>("schema version", [](pqxx::work& tx) -> Result<int64_t> {
      if (tx.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>()) {
        return int64_t{0};
      }
      return Int(tx.exec1("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0]);
    });
  }

  Status InsertApiKey(const std::string& name, const std::string& role,
                      const std::string& token_hash, int64_t now) override {
    return Run("insert api key", [&](pqxx::work& tx) {
      tx.exec_params(
          "INSERT INTO api_keys (token_hash, name, role, created_at) VALUES ($1, $2, $3, $4)",
          token_hash, name, role, now);
    });
  }

  Result<std::optional<ApiKeyRecord>> FindApiKey(const std::string& token_hash) override {
    using Out = std::optional<ApiKeyRecord>;
    return Tx<Out>("find api key", [&](pqxx::work& tx) -> Result<Out> {
      auto rows = tx.exec_params(
          "SELECT name, role, created_at FROM api_keys "
          "WHERE token_hash = $1 AND revoked_at IS NULL",
          token_hash);
      if (rows.empty()) return Out();
      return Out(ApiKeyRecord{Text(rows[0][0]), Text(rows[0][1]), Int(rows[0][2])});
    });
  }

  Result<int64_t> CountApiKeys() override {
    return Tx<int64_t>("count api keys", [](pqxx::work& tx) -> Result<int64_t> {
      return Int(tx.exec1("SELECT COUNT(*) FROM api_keys")[0]);
    });
  }

  Status PutBlob(const std::string& sha256, uint64_t size, int64_t now) override {
    return Run("put blob", [&](pqxx::work& tx) {
      tx.exec_params(
          "INSERT INTO blobs (sha256, size, created_at) VALUES ($1, $2, $3) "
          "ON CONFLICT (sha256) DO NOTHING",
          sha256, static_cast<int64_t>(size), now);
    });
  }

  Result<std::optional<BlobRecord>> FindBlob(const std::string& sha256) override {
    using Out = std::optional<BlobRecord>;
    return Tx<Out>("find blob", [&](pqxx::work& tx) -> Result<Out> {
      auto rows = tx.exec_params("SELECT size, created_at FROM blobs WHERE sha256 = $1", sha256);
      if (rows.empty()) return Out();
      return Out(BlobRecord{sha256, static_cast<uint64_t>(Int(rows[0][0])), Int(rows[0][1])});
    });
  }

  Result<std::optional<ModelVersionRecord>> InsertModelVersion(
      const ModelVersionRecord& v, const ManifestSigner& sign) override {
    using Out = std::optional<ModelVersionRecord>;
    return Tx<Out>("insert model version", [&](pqxx::work& tx) -> Result<Out> {
      tx.exec_params(
          "INSERT INTO models (name, manifest_counter, created_at) VALUES ($1, 0, $2) "
          "ON CONFLICT (name) DO NOTHING",
          v.model, v.created_at);
      // The model row's lock serializes publishes of one model across replicas: the check
      // below then sees a concurrent publish of the same version, and no counter repeats.
      tx.exec_params("SELECT 1 FROM models WHERE name = $1 FOR UPDATE", v.model);
      if (!tx.exec_params("SELECT 1 FROM model_versions WHERE model = $1 AND version = $2", v.model,
                          v.version)
               .empty()) {
        return Out();
      }
      ModelVersionRecord rec = v;
      rec.manifest_version = Int(tx.exec_params1(
          "UPDATE models SET manifest_counter = manifest_counter + 1 WHERE name = $1 "
          "RETURNING manifest_counter",
          v.model)[0]);
      TERN_ASSIGN_OR_RETURN(rec.manifest_json, sign(rec.manifest_version));
      tx.exec_params(
          "INSERT INTO model_versions (model, version, metadata, manifest, manifest_version, "
          "created_at) VALUES ($1, $2, $3, $4, $5, $6)",
          rec.model, rec.version, rec.metadata_json, rec.manifest_json, rec.manifest_version,
          rec.created_at);
      int64_t position = 0;
      for (const auto& var : rec.variants) {
        tx.exec_params(
            "INSERT INTO variants (model, version, position, name, precision, provider, "
            "cpu_features, blob_sha256, size) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            rec.model, rec.version, position++, var.name, var.precision, var.provider,
            Json(var.cpu_features).dump(), var.blob_sha256, static_cast<int64_t>(var.size));
      }
      return Out(std::move(rec));
    });
  }

  Result<std::vector<std::string>> ListModels() override {
    using Out = std::vector<std::string>;
    return Tx<Out>("list models", [](pqxx::work& tx) -> Result<Out> {
      Out out;
      for (const auto& row : tx.exec("SELECT name FROM models ORDER BY name")) {
        out.push_back(Text(row[0]));
      }
      return out;
    });
  }

  Result<std::vector<ModelVersionRecord>> ListVersions(const std::string& model) override {
    using Out = std::vector<ModelVersionRecord>;
    return Tx<Out>("list versions", [&](pqxx::work& tx) -> Result<Out> {
      Out out;
      auto rows = tx.exec_params(
          "SELECT version FROM model_versions WHERE model = $1 "
          "ORDER BY created_at, manifest_version",
          model);
      for (const auto& row : rows) {
        auto rec = FindVersionIn(tx, model, Text(row[0]));
        if (rec) out.push_back(std::move(*rec));
      }
      return out;
    });
  }

  Result<std::optional<ModelVersionRecord>> ResignModelVersion(
      const std::string& model, const std::string& version, int64_t below,
      const ManifestSigner& sign) override {
    using Out = std::optional<ModelVersionRecord>;
    return Tx<Out>("re-sign model version", [&](pqxx::work& tx) -> Result<Out> {
      // The model row's lock orders this against publishes and other replicas re-signing: the
      // check below then sees their counter, so a version is re-signed once.
      tx.exec_params("SELECT 1 FROM models WHERE name = $1 FOR UPDATE", model);
      Out rec = FindVersionIn(tx, model, version);
      if (!rec || rec->manifest_version >= below) return rec;
      const int64_t counter = Int(tx.exec_params1(
          "UPDATE models SET manifest_counter = manifest_counter + 1 WHERE name = $1 "
          "RETURNING manifest_counter",
          model)[0]);
      TERN_ASSIGN_OR_RETURN(std::string manifest, sign(counter));
      tx.exec_params(
          "UPDATE model_versions SET manifest = $1, manifest_version = $2 WHERE model = $3 AND "
          "version = $4",
          manifest, counter, model, version);
      rec->manifest_json = std::move(manifest);
      rec->manifest_version = counter;
      return rec;
    });
  }

  Result<std::optional<ModelVersionRecord>> FindVersion(const std::string& model,
                                                        const std::string& version) override {
    using Out = std::optional<ModelVersionRecord>;
    return Tx<Out>("find version", [&](pqxx::work& tx) -> Result<Out> {
      return FindVersionIn(tx, model, version);
    });
  }

  Status InsertDevice(const DeviceRecord& d, const std::string& token_hash) override {
    return Run("insert device", [&](pqxx::work& tx) {
      tx.exec_params(
          "INSERT INTO devices (id, name, token_hash, capabilities, created_at, last_seen, "
          "device_group) VALUES ($1, $2, $3, $4, $5, $6, $7)",
          d.id, d.name, token_hash, d.capabilities_json, d.created_at, d.last_seen, d.group);
    });
  }

  Result<std::optional<DeviceRecord>> FindDeviceByToken(const std::string& token_hash) override {
    return OneDevice(std::string(kDeviceColumns) + " WHERE token_hash = $1", token_hash);
  }

  Result<std::optional<DeviceRecord>> FindDevice(const std::string& id) override {
    return OneDevice(std::string(kDeviceColumns) + " WHERE id = $1", id);
  }

  Result<std::vector<DeviceRecord>> ListDevices() override {
    using Out = std::vector<DeviceRecord>;
    return Tx<Out>("list devices", [](pqxx::work& tx) -> Result<Out> {
      return AllRows(tx.exec(std::string(kDeviceColumns) + " ORDER BY created_at, id"),
                     DeviceFromRow);
    });
  }

  Status TouchDevice(const std::string& id, int64_t now) override {
    // GREATEST: replicas with slightly different clocks never move last_seen backwards.
    return Run("touch device", [&](pqxx::work& tx) {
      tx.exec_params("UPDATE devices SET last_seen = GREATEST(last_seen, $1) WHERE id = $2", now,
                     id);
    });
  }

#include "hub/pg_store_fleet.inc"

  Result<std::unique_ptr<ChangeWatch>> WatchChanges(std::function<void()> on_change) override {
    auto watch =
        std::make_unique<pg::ListenThread>(pool_.url(), kChangeChannel, std::move(on_change));
    // Bounded: a hub whose LISTEN connection fails still serves (its long-polls answer at
    // their deadline) and keeps trying to listen in the background.
    if (!watch->WaitListening(std::chrono::seconds(5))) {
      std::fprintf(stderr, "tern-hub: postgresql LISTEN is not in place yet; retrying\n");
    }
    return std::unique_ptr<ChangeWatch>(std::move(watch));
  }

 private:
  template <typename T, typename Body>
  Result<T> Tx(const std::string& what, Body&& body) {
    return pg::Transact<T>(pool_, what, std::forward<Body>(body));
  }

  // A transaction whose body only writes (it throws on failure).
  template <typename Body>
  Status Run(const std::string& what, Body&& body) {
    auto wrote = [&](pqxx::work& tx) -> Result<bool> {
      body(tx);
      return true;
    };
    return Tx<bool>(what, wrote).status();
  }

  Result<std::optional<DeviceRecord>> OneDevice(const std::string& sql, const std::string& key) {
    using Out = std::optional<DeviceRecord>;
    return Tx<Out>("find device", [&](pqxx::work& tx) -> Result<Out> {
      return FirstRow(tx.exec_params(sql, key), DeviceFromRow);
    });
  }

  Result<std::optional<RolloutRecord>> OneRollout(const std::string& sql, const std::string& key) {
    using Out = std::optional<RolloutRecord>;
    return Tx<Out>("find rollout", [&](pqxx::work& tx) -> Result<Out> {
      return FirstRow(tx.exec_params(sql, key), RolloutFromRow);
    });
  }

  static std::optional<ModelVersionRecord> FindVersionIn(pqxx::work& tx, const std::string& model,
                                                         const std::string& version) {
    auto head = tx.exec_params(
        "SELECT metadata, manifest, manifest_version, created_at FROM model_versions "
        "WHERE model = $1 AND version = $2",
        model, version);
    if (head.empty()) return std::nullopt;
    ModelVersionRecord rec;
    rec.model = model;
    rec.version = version;
    rec.metadata_json = Text(head[0][0]);
    rec.manifest_json = Text(head[0][1]);
    rec.manifest_version = Int(head[0][2]);
    rec.created_at = Int(head[0][3]);
    for (const auto& row : tx.exec_params(
             "SELECT name, precision, provider, cpu_features, blob_sha256, size FROM variants "
             "WHERE model = $1 AND version = $2 ORDER BY position",
             model, version)) {
      rec.variants.push_back(VariantRecord{Text(row[0]), Text(row[1]), Text(row[2]),
                                           StringListFromJson(Text(row[3])), Text(row[4]),
                                           static_cast<uint64_t>(Int(row[5]))});
    }
    return rec;
  }

  pg::Pool pool_;
};

}  // namespace

std::string RedactStoreUrl(const std::string& url) {
  // scheme://user:password@host → scheme://user:***@host
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  const auto at = url.find('@', scheme_end + 3);
  if (at == std::string::npos) return url;
  const auto colon = url.find(':', scheme_end + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url) {
  auto store = std::make_unique<PgStore>(url);
  // Connect now, so that a wrong URL fails at startup rather than at the first request.
  TERN_RETURN_IF_ERROR(store->Check());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace tern::hub
