// Schema migrations, numbered from 1, never edited once released: add a new one instead.
// The SQL is the common subset of SQLite and PostgreSQL (natural keys, no auto-increment ids,
// BIGINT Unix-second times, TEXT for JSON), so the PostgreSQL store can apply the same list.
#pragma once

#include <cstdint>
#include <vector>

namespace tern::hub {

struct Migration {
  int64_t version;
  const char* name;
  const char* sql;
};

inline const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "registry, devices, api keys", R"sql(
CREATE TABLE api_keys (
  token_hash TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE models (
  name TEXT PRIMARY KEY,
  manifest_counter BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE model_versions (
  model TEXT NOT NULL REFERENCES models(name),
  version TEXT NOT NULL,
  metadata TEXT NOT NULL,
  manifest TEXT NOT NULL,
  manifest_version BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (model, version)
);
CREATE TABLE variants (
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  position BIGINT NOT NULL,
  name TEXT NOT NULL,
  precision TEXT NOT NULL,
  provider TEXT NOT NULL,
  cpu_features TEXT NOT NULL,
  blob_sha256 TEXT NOT NULL REFERENCES blobs(sha256),
  size BIGINT NOT NULL,
  PRIMARY KEY (model, version, name),
  FOREIGN KEY (model, version) REFERENCES model_versions(model, version)
);
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  capabilities TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen BIGINT NOT NULL
);
)sql"},
  };
  return kMigrations;
}

}  // namespace tern::hub
