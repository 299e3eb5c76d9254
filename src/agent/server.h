// Local inference for applications on the device, over a Unix-domain socket.
//
// Frames are a 4-byte little-endian length followed by that many bytes (at most 64 MiB).
// Request:  'I'                                  → info about the active model (JSON)
//           'R' u32 count, count × (u32 len, TensorProto)   → run; tensors in input order
// Reply:    u8 status (0 ok, else a tern::StatusCode), then the JSON text, the error message,
//           or u32 count, count × (u32 len, TensorProto) with the outputs.
//
// Each request takes one reference to the active model and runs on it, so an update (which
// replaces the reference between requests) never interrupts or mixes a run.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/slots.h"
#include "agent/telemetry.h"
#include "tern/session.h"

namespace tern::agent {

/// The model being served.
struct ActiveModel {
  std::unique_ptr<Session> session;
  SlotInfo info;
  std::string slot;
};

/// The reference every request loads; swapped atomically by the updater.
class ModelHolder {
 public:
  std::shared_ptr<const ActiveModel> Get() const { return model_.load(); }
  void Set(std::shared_ptr<const ActiveModel> m) { model_.store(std::move(m)); }

 private:
  std::atomic<std::shared_ptr<const ActiveModel>> model_;
};

class InferenceServer {
 public:
  InferenceServer(ModelHolder* holder, Telemetry* telemetry);
  ~InferenceServer();

  /// Binds `path` (replacing a stale socket file), mode 0660, and starts accepting.
  Status Start(const std::string& path);
  /// Stops accepting, closes connections and joins every thread.
  void Stop();

 private:
  void AcceptLoop();
  void Serve(int fd);
  std::string Handle(const std::string& request);

  ModelHolder* holder_;
  Telemetry* telemetry_;
  std::string path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable idle_;  // signalled when a connection thread ends
  std::vector<int> client_fds_;
  int active_clients_ = 0;
};

/// Client side of the protocol (tests and `tern-agent infer`): sends one request frame and
/// returns the reply payload.
Result<std::string> SocketRequest(const std::string& path, const std::string& request);
/// Builds an 'R' request from serialized TensorProtos.
std::string EncodeRunRequest(const std::vector<std::string>& tensors);
/// Splits a successful 'R' reply into serialized TensorProtos; errors carry the agent's message.
Result<std::vector<std::string>> DecodeRunReply(const std::string& reply);

}  // namespace tern::agent
