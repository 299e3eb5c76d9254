// Plain request and response types between the HTTP server (Beast, in http_server.cc only) and
// the API code, so that handlers compile without Boost and are easy to test.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

namespace tern::hub {

/// An open file descriptor, closed when the last owner lets go.
class FileHandle {
 public:
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileHandle(const FileHandle&) = delete;
  FileHandle& operator=(const FileHandle&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

/// A byte range of an open file to send as the response body.
struct FileSlice {
  std::shared_ptr<FileHandle> file;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct HttpRequest {
  std::string method;                          ///< "GET", "POST", ...
  std::string target;                          ///< as received
  std::vector<std::string> path;               ///< percent-decoded segments
  std::map<std::string, std::string> query;    ///< percent-decoded
  std::map<std::string, std::string> headers;  ///< lower-case names; repeats joined by ", "
  std::string body;                            ///< in-memory body
  std::string body_file;                       ///< set when the body was streamed to a file
  uint64_t body_size = 0;
  std::string remote;                          ///< peer address, for logs

  /// The header's value, or "" when absent.
  const std::string& Header(const std::string& lower_name) const {
    static const std::string kEmpty;
    auto it = headers.find(lower_name);
    return it == headers.end() ? kEmpty : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<FileSlice> file;  ///< when set, sent instead of `body`
  bool omit_body = false;         ///< HEAD: headers (with the full Content-Length) only

  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

/// How the server should read a request's body, decided from its headers.
struct BodyPlan {
  enum class Kind { kMemory, kFile };
  Kind kind = Kind::kMemory;
  uint64_t limit = 0;     ///< bytes; larger bodies get 413
  std::string file_path;  ///< kFile: where to stream it (created new; removed after handling)
};

/// What the server calls. Both methods may block (store, disk); they run on the server's pool.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  /// Sees the request without its body: answers early (401, 404, 413, ...) or says how to read
  /// the body. An early answer closes the connection when a body was announced.
  virtual std::optional<HttpResponse> Admit(const HttpRequest& head, BodyPlan* plan) = 0;
  virtual HttpResponse Handle(HttpRequest& request) = 0;

  using Responder = std::function<void(HttpResponse)>;
  /// Answers now, or returns nullopt and later calls `respond` exactly once, from any thread
  /// (long-polls park this way instead of holding a server thread). Defaults to Handle().
  virtual std::optional<HttpResponse> HandleAsync(HttpRequest& request, Responder respond) {
    return Handle(request);
  }
  /// The server is stopping: answer parked requests now.
  virtual void Stopping() {}
};

}  // namespace tern::hub
