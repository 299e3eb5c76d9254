// Store on PostgreSQL, so that several hub replicas behind a load balancer serve one fleet.
//
// Each call runs in its own READ COMMITTED transaction on a pooled connection (libpqxx; every
// value goes in as a statement parameter). What must not happen twice when two replicas race is
// made safe in the database, not in this process: rollout updates are compare-and-set on
// `revision` (a concurrent writer waits for the row lock and then finds the revision moved), a
// new rollout takes a transaction-scoped advisory lock on its group before checking that the
// group is free, a new model version locks its model row before taking the next manifest
// counter, telemetry batches are deduplicated by their primary key, and migrations run under
// an advisory lock so replicas starting together apply each one once. Changes that can move
// device assignments send NOTIFY in the same transaction; WatchChanges() LISTENs, so a
// long-poll parked on any replica wakes up.
#pragma once

#include <memory>
#include <string>

#include "hub/store.h"

namespace tern::hub {

/// Connects to `url` (postgresql://USER[:PASSWORD]@HOST:PORT/DB[?libpq options]); call
/// Migrate() before use.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url);

/// `url` with any password replaced by "***", for messages and logs.
std::string RedactStoreUrl(const std::string& url);

}  // namespace tern::hub
