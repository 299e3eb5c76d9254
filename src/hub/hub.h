// A whole hub: data folder, store, keys, blobs, API and HTTP server, put together.
// tools/tern-hub is a thin command line around this.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hub/api.h"
#include "hub/http_server.h"

namespace tern::hub {

struct HubOptions {
  std::string data_dir;
  std::string store_url;  ///< "" = DATA/hub.db
  HttpServerOptions http;
  ApiOptions api;
  std::string port_file;  ///< when set, the bound port is written there once listening
};

class Hub {
 public:
  /// Opens (creating at first start) everything in the data folder and starts listening.
  /// At first start an admin key is written to DATA/admin.key (mode 0600).
  static Result<std::unique_ptr<Hub>> Start(const HubOptions& options);
  ~Hub();

  uint16_t port() const { return server_->port(); }
  /// Serves until SIGTERM/SIGINT or Stop().
  void Run() { server_->Run(); }
  void Stop() { server_->Stop(); }

 private:
  Hub() = default;
  std::unique_ptr<Store> store_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<HubKeys> keys_;
  std::unique_ptr<HubApi> api_;
  std::unique_ptr<HttpServer> server_;
};

/// Adds an API key ("admin" or "enroll") to the hub's store and returns its token (shown once).
Result<std::string> CreateApiKey(const std::string& data_dir, const std::string& store_url,
                                 const std::string& name, const std::string& role);

}  // namespace tern::hub
