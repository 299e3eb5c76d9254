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
      // Rollouts, telemetry and device groups. Telemetry is kept per batch row so that a gate
      // can look at any window (since a stage began); a busy fleet would roll rows up by
      // minute instead, behind the same Store methods.
      {2, "rollouts, telemetry, device groups", R"sql(
ALTER TABLE devices ADD COLUMN device_group TEXT NOT NULL DEFAULT 'default';
ALTER TABLE devices ADD COLUMN active_model TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN active_version TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN active_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX devices_by_group ON devices (device_group);
CREATE TABLE rollouts (
  id TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  previous_version TEXT NOT NULL,
  device_group TEXT NOT NULL,
  spec TEXT NOT NULL,
  state TEXT NOT NULL,
  stage BIGINT NOT NULL,
  stage_started_at BIGINT NOT NULL,
  reason TEXT NOT NULL,
  evaluation TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  revision BIGINT NOT NULL,
  FOREIGN KEY (model, version) REFERENCES model_versions(model, version)
);
CREATE INDEX rollouts_by_group ON rollouts (device_group, created_at);
CREATE TABLE rollout_events (
  rollout_id TEXT NOT NULL REFERENCES rollouts(id),
  seq BIGINT NOT NULL,
  at BIGINT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  stage BIGINT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (rollout_id, seq)
);
CREATE TABLE telemetry_batches (
  device_id TEXT NOT NULL REFERENCES devices(id),
  batch_id TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (device_id, batch_id)
);
CREATE TABLE telemetry_rows (
  device_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  position BIGINT NOT NULL,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  inferences BIGINT NOT NULL,
  errors BIGINT NOT NULL,
  crashes BIGINT NOT NULL,
  failures BIGINT NOT NULL,
  latency_buckets TEXT NOT NULL,
  PRIMARY KEY (device_id, batch_id, position),
  FOREIGN KEY (device_id, batch_id) REFERENCES telemetry_batches(device_id, batch_id)
);
CREATE INDEX telemetry_rows_by_version ON telemetry_rows (model, version, received_at);
CREATE TABLE telemetry_events (
  device_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  position BIGINT NOT NULL,
  type TEXT NOT NULL,
  model TEXT NOT NULL,
  version TEXT NOT NULL,
  from_version TEXT NOT NULL,
  at BIGINT NOT NULL,
  detail TEXT NOT NULL,
  PRIMARY KEY (device_id, batch_id, position),
  FOREIGN KEY (device_id, batch_id) REFERENCES telemetry_batches(device_id, batch_id)
);
)sql"},
  };
  return kMigrations;
}

}  // namespace tern::hub
