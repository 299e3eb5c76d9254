#include "hub/sqlite_store.h"

#include <map>
#include <mutex>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "hub/migrations.h"
#include "hub/store_rows.h"

namespace tern::hub {
namespace {

using Json = nlohmann::json;

// A cached prepared statement, reset and unbound when the guard goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt& Bind(const std::string& v) {
    Check(sqlite3_bind_text(s_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& Bind(int64_t v) {
    Check(sqlite3_bind_int64(s_, ++n_, v));
    return *this;
  }
  /// SQLITE_ROW → true, SQLITE_DONE → false, anything else → error.
  Result<bool> Step() {
    if (!bind_status_.ok()) return bind_status_;
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    last_rc_ = rc;
    return Error("step");
  }
  Status Run() {
    auto r = Step();
    return r.ok() ? Status::Ok() : r.status();
  }
  int extended_rc() const { return last_rc_; }
  std::string Text(int col) {
    auto p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  int64_t Int(int col) { return sqlite3_column_int64(s_, col); }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = Error("bind");
  }
  Status Error(const char* what) {
    return IoError(std::string("sqlite ") + what + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
  int n_ = 0;
  int last_rc_ = SQLITE_OK;
  Status bind_status_;
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  Status Init() {
    std::lock_guard<std::mutex> lock(mu_);
    sqlite3_busy_timeout(db_, 5000);
    // WAL: readers never block the writer; synchronous=FULL: a committed registration or
    // publish survives a power cut.
    TERN_RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL"));
    TERN_RETURN_IF_ERROR(Exec("PRAGMA synchronous=FULL"));
    TERN_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON"));
    return Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  }

  Status Migrate() override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(int64_t current, SchemaVersionLocked());
    const auto& all = Migrations();
    int64_t known = all.empty() ? 0 : all.back().version;
    if (current > known) {
      return Status(StatusCode::kFailedPrecondition,
                    "database schema v" + std::to_string(current) +
                        " is newer than this hub knows (v" + std::to_string(known) + ")");
    }
    for (const auto& m : all) {
      if (m.version <= current) continue;
      TERN_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
      // Another process (a hub and `tern-hub keys create` starting together) may have applied
      // it between the read above and this write lock.
      auto now = SchemaVersionLocked();
      if (!now.ok() || *now >= m.version) {
        (void)Exec("ROLLBACK");
        if (!now.ok()) return now.status();
        continue;
      }
      Status st = Exec(m.sql);
      if (st.ok()) {
        auto s = Prepare(
            "INSERT INTO schema_migrations (version, name, applied_at) "
            "VALUES (?, ?, strftime('%s','now'))");
        st = s.ok() ? s->Bind(m.version).Bind(std::string(m.name)).Run() : s.status();
      }
      if (!st.ok()) {
        (void)Exec("ROLLBACK");
        return st.WithContext("migration " + std::to_string(m.version));
      }
      TERN_RETURN_IF_ERROR(Exec("COMMIT"));
    }
    return Status::Ok();
  }

  Result<int64_t> SchemaVersion() override {
    std::lock_guard<std::mutex> lock(mu_);
    return SchemaVersionLocked();
  }

  Status InsertApiKey(const std::string& name, const std::string& role,
                      const std::string& token_hash, int64_t now) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(
        Stmt s, Prepare("INSERT INTO api_keys (token_hash, name, role, created_at) "
                        "VALUES (?, ?, ?, ?)"));
    return s.Bind(token_hash).Bind(name).Bind(role).Bind(now).Run();
  }

  Result<std::optional<ApiKeyRecord>> FindApiKey(const std::string& token_hash) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT name, role, created_at FROM api_keys "
                                          "WHERE token_hash = ? AND revoked_at IS NULL"));
    s.Bind(token_hash);
    TERN_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<ApiKeyRecord>();
    return std::optional<ApiKeyRecord>(ApiKeyRecord{s.Text(0), s.Text(1), s.Int(2)});
  }

  Result<int64_t> CountApiKeys() override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT COUNT(*) FROM api_keys"));
    TERN_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? s.Int(0) : 0;
  }

  Status PutBlob(const std::string& sha256, uint64_t size, int64_t now) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("INSERT INTO blobs (sha256, size, created_at) "
                                          "VALUES (?, ?, ?) ON CONFLICT (sha256) DO NOTHING"));
    return s.Bind(sha256).Bind(static_cast<int64_t>(size)).Bind(now).Run();
  }

  Result<std::optional<BlobRecord>> FindBlob(const std::string& sha256) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT size, created_at FROM blobs WHERE sha256 = ?"));
    s.Bind(sha256);
    TERN_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<BlobRecord>();
    return std::optional<BlobRecord>(
        BlobRecord{sha256, static_cast<uint64_t>(s.Int(0)), s.Int(1)});
  }

  Result<std::optional<ModelVersionRecord>> InsertModelVersion(
      const ModelVersionRecord& v, const ManifestSigner& sign) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    auto result = InsertModelVersionLocked(v, sign);
    if (!result.ok() || !result->has_value()) {
      (void)Exec("ROLLBACK");
      return result;
    }
    TERN_RETURN_IF_ERROR(Exec("COMMIT"));
    return result;
  }

  Result<std::optional<ModelVersionRecord>> ResignModelVersion(
      const std::string& model, const std::string& version, int64_t below,
      const ManifestSigner& sign) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    auto result = ResignLocked(model, version, below, sign);
    if (!result.ok()) {
      (void)Exec("ROLLBACK");
      return result;
    }
    TERN_RETURN_IF_ERROR(Exec("COMMIT"));
    return result;
  }

  Result<std::vector<std::string>> ListModels() override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT name FROM models ORDER BY name"));
    std::vector<std::string> out;
    while (true) {
      TERN_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(s.Text(0));
    }
    return out;
  }

  Result<std::vector<ModelVersionRecord>> ListVersions(const std::string& model) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> versions;
    {
      TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT version FROM model_versions WHERE model = ? "
                                            "ORDER BY created_at, manifest_version"));
      s.Bind(model);
      while (true) {
        TERN_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        versions.push_back(s.Text(0));
      }
    }
    std::vector<ModelVersionRecord> out;
    for (const auto& version : versions) {
      TERN_ASSIGN_OR_RETURN(auto rec, FindVersionLocked(model, version));
      if (rec) out.push_back(std::move(*rec));
    }
    return out;
  }

  Result<std::optional<ModelVersionRecord>> FindVersion(const std::string& model,
                                                        const std::string& version) override {
    std::lock_guard<std::mutex> lock(mu_);
    return FindVersionLocked(model, version);
  }

  Status InsertDevice(const DeviceRecord& d, const std::string& token_hash) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(
        Stmt s, Prepare("INSERT INTO devices (id, name, token_hash, capabilities, created_at, "
                        "last_seen, device_group) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    return s.Bind(d.id).Bind(d.name).Bind(token_hash).Bind(d.capabilities_json)
        .Bind(d.created_at).Bind(d.last_seen).Bind(d.group).Run();
  }

  Result<std::optional<DeviceRecord>> FindDeviceByToken(const std::string& token_hash) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare(std::string(kDeviceColumns) + " WHERE token_hash = ?"));
    s.Bind(token_hash);
    return OneDevice(s);
  }

  Result<std::optional<DeviceRecord>> FindDevice(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare(std::string(kDeviceColumns) + " WHERE id = ?"));
    s.Bind(id);
    return OneDevice(s);
  }

  Result<std::vector<DeviceRecord>> ListDevices() override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare(std::string(kDeviceColumns) + " ORDER BY created_at, id"));
    std::vector<DeviceRecord> out;
    while (true) {
      TERN_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      out.push_back(DeviceFromRow(s));
    }
    return out;
  }

  Status TouchDevice(const std::string& id, int64_t now) override {
    std::lock_guard<std::mutex> lock(mu_);
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("UPDATE devices SET last_seen = ? WHERE id = ?"));
    return s.Bind(now).Bind(id).Run();
  }

#include "hub/sqlite_store_fleet.inc"

 private:
  static DeviceRecord DeviceFromRow(Stmt& s) {
    return DeviceRecord{s.Text(0), s.Text(1), s.Text(2), s.Int(3), s.Int(4),
                        s.Text(5), s.Text(6), s.Text(7), s.Int(8)};
  }

  Result<std::optional<DeviceRecord>> OneDevice(Stmt& s) {
    TERN_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return std::optional<DeviceRecord>();
    return std::optional<DeviceRecord>(DeviceFromRow(s));
  }

  Result<std::optional<ModelVersionRecord>> InsertModelVersionLocked(
      const ModelVersionRecord& v, const ManifestSigner& sign) {
    using Out = std::optional<ModelVersionRecord>;
    {
      TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT 1 FROM model_versions WHERE model = ? AND "
                                            "version = ?"));
      s.Bind(v.model).Bind(v.version);
      TERN_ASSIGN_OR_RETURN(bool exists, s.Step());
      if (exists) return Out();
    }
    {
      TERN_ASSIGN_OR_RETURN(
          Stmt s, Prepare("INSERT INTO models (name, manifest_counter, created_at) VALUES (?, 0, ?) "
                          "ON CONFLICT (name) DO NOTHING"));
      TERN_RETURN_IF_ERROR(s.Bind(v.model).Bind(v.created_at).Run());
    }
    int64_t counter = 0;
    {
      TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("UPDATE models SET manifest_counter = "
                                            "manifest_counter + 1 WHERE name = ? "
                                            "RETURNING manifest_counter"));
      s.Bind(v.model);
      TERN_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return Internal("model row vanished");
      counter = s.Int(0);
    }
    ModelVersionRecord rec = v;
    rec.manifest_version = counter;
    TERN_ASSIGN_OR_RETURN(rec.manifest_json, sign(counter));
    {
      TERN_ASSIGN_OR_RETURN(
          Stmt s, Prepare("INSERT INTO model_versions (model, version, metadata, manifest, "
                          "manifest_version, created_at) VALUES (?, ?, ?, ?, ?, ?)"));
      TERN_RETURN_IF_ERROR(s.Bind(rec.model).Bind(rec.version).Bind(rec.metadata_json)
                               .Bind(rec.manifest_json).Bind(rec.manifest_version)
                               .Bind(rec.created_at).Run());
    }
    int64_t position = 0;
    for (const auto& var : rec.variants) {
      TERN_ASSIGN_OR_RETURN(
          Stmt s, Prepare("INSERT INTO variants (model, version, position, name, precision, "
                          "provider, cpu_features, blob_sha256, size) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
      TERN_RETURN_IF_ERROR(s.Bind(rec.model).Bind(rec.version).Bind(position++).Bind(var.name)
                               .Bind(var.precision).Bind(var.provider)
                               .Bind(Json(var.cpu_features).dump()).Bind(var.blob_sha256)
                               .Bind(static_cast<int64_t>(var.size)).Run());
    }
    return Out(std::move(rec));
  }

  Result<std::optional<ModelVersionRecord>> ResignLocked(const std::string& model,
                                                         const std::string& version, int64_t below,
                                                         const ManifestSigner& sign) {
    TERN_ASSIGN_OR_RETURN(auto rec, FindVersionLocked(model, version));
    if (!rec || rec->manifest_version >= below) return rec;
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("UPDATE models SET manifest_counter = "
                                          "manifest_counter + 1 WHERE name = ? "
                                          "RETURNING manifest_counter"));
    s.Bind(model);
    TERN_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Internal("model row vanished");
    const int64_t counter = s.Int(0);
    TERN_ASSIGN_OR_RETURN(std::string manifest, sign(counter));
    TERN_ASSIGN_OR_RETURN(Stmt u, Prepare("UPDATE model_versions SET manifest = ?, "
                                          "manifest_version = ? WHERE model = ? AND version = ?"));
    TERN_RETURN_IF_ERROR(u.Bind(manifest).Bind(counter).Bind(model).Bind(version).Run());
    rec->manifest_json = std::move(manifest);
    rec->manifest_version = counter;
    return rec;
  }

  Result<std::optional<ModelVersionRecord>> FindVersionLocked(const std::string& model,
                                                              const std::string& version) {
    using Out = std::optional<ModelVersionRecord>;
    ModelVersionRecord rec;
    {
      TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT metadata, manifest, manifest_version, "
                                            "created_at FROM model_versions WHERE model = ? AND "
                                            "version = ?"));
      s.Bind(model).Bind(version);
      TERN_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return Out();
      rec.model = model;
      rec.version = version;
      rec.metadata_json = s.Text(0);
      rec.manifest_json = s.Text(1);
      rec.manifest_version = s.Int(2);
      rec.created_at = s.Int(3);
    }
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT name, precision, provider, cpu_features, "
                                          "blob_sha256, size FROM variants WHERE model = ? AND "
                                          "version = ? ORDER BY position"));
    s.Bind(model).Bind(version);
    while (true) {
      TERN_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      rec.variants.push_back(VariantRecord{s.Text(0), s.Text(1), s.Text(2),
                                           StringListFromJson(s.Text(3)), s.Text(4),
                                           static_cast<uint64_t>(s.Int(5))});
    }
    return Out(std::move(rec));
  }

  Result<int64_t> SchemaVersionLocked() {
    TERN_ASSIGN_OR_RETURN(Stmt s, Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    TERN_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? s.Int(0) : 0;
  }

  Status Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      return IoError("sqlite: " + msg);
    }
    return Status::Ok();
  }

  Result<Stmt> Prepare(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it == cache_.end()) {
      sqlite3_stmt* stmt = nullptr;
      if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                             SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
        return IoError(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
      }
      it = cache_.emplace(sql, stmt).first;
    }
    return Stmt(db_, it->second);
  }

  std::mutex mu_;
  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return IoError("cannot open " + path + ": " + msg);
  }
  auto store = std::make_unique<SqliteStore>(db);
  TERN_RETURN_IF_ERROR(store->Init().WithContext(path));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace tern::hub
