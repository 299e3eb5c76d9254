// OpenStore: picks the Store implementation from the --store URL.
#include "hub/pg_store.h"
#include "hub/sqlite_store.h"

namespace tern::hub {

Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const std::string& data_dir) {
  if (url.empty()) return OpenSqliteStore(data_dir + "/hub.db");
  if (url.rfind("sqlite:", 0) == 0) return OpenSqliteStore(url.substr(7));
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return OpenPostgresStore(url);
  }
  return InvalidArgument("unknown store URL \"" + RedactStoreUrl(url) +
                         "\" (expected sqlite:PATH or postgresql://USER@HOST:PORT/DB)");
}

}  // namespace tern::hub
