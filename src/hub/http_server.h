// An asynchronous HTTP/1.1 server (Boost.Beast on one io_context run by a small thread pool).
//
// With a certificate and key it speaks HTTPS only (a TLS handshake, then the same protocol).
// Each connection reads the request head first (header size capped, timed), asks the handler
// whether to answer at once or how to read the body (in memory or streamed to a file, with a
// size cap → 413), then reads the body (timed), calls the handler and writes the response
// (timed). Keep-alive is supported; bodies of unread requests close the connection.
// Stop() (or SIGTERM/SIGINT when asked) stops accepting, closes idle connections, lets requests
// in flight finish and forces the rest closed after a grace period.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "hub/http_types.h"
#include "tern/status.h"

namespace tern::hub {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                      ///< 0: pick an ephemeral port
  int threads = 4;
  uint32_t header_limit = 16 * 1024;      ///< request line + headers, bytes (→ 431)
  int header_timeout_s = 30;              ///< also the keep-alive idle timeout
  int body_timeout_s = 300;
  int write_timeout_s = 300;
  int shutdown_grace_s = 10;
  bool stop_on_signals = true;            ///< SIGTERM and SIGINT call Stop()
  /// PEM files; both set: HTTPS only (TLS 1.2+, OpenSSL), both empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

class HttpServer {
 public:
  /// Binds and listens; `handler` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   HttpHandler* handler);
  ~HttpServer();

  /// The bound port (useful with port 0).
  uint16_t port() const;
  /// Serves until Stop() or a signal; returns after the last connection is done.
  void Run();
  /// Thread-safe; returns at once.
  void Stop();

  struct Impl;  ///< defined in http_server.cc (keeps Beast out of this header)

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern::hub
