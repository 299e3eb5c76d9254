// Store on one SQLite file: WAL journal, foreign keys on, prepared statements cached per
// connection. One connection behind a mutex serves all threads: the hub's writes are small and
// SQLite serializes writers anyway; readers could get their own connections later.
#pragma once

#include <memory>
#include <string>

#include "hub/store.h"

namespace tern::hub {

/// Opens (creating if needed) the SQLite database at `path`; call Migrate() before use.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace tern::hub
