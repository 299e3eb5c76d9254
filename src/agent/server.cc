#include "agent/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "onnx/onnx_import.h"

namespace tern::agent {
namespace {

constexpr uint32_t kMaxFrame = 64u << 20;
constexpr int kMaxClients = 16;

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

bool GetU32(const std::string& in, size_t* pos, uint32_t* v) {
  if (in.size() - *pos < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i)
    *v |= static_cast<uint32_t>(static_cast<unsigned char>(in[*pos + i])) << (8 * i);
  *pos += 4;
  return true;
}

bool ReadExact(int fd, char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::recv(fd, buf + done, n - done, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

bool WriteExact(int fd, const char* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::send(fd, buf + done, n - done, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<size_t>(w);
  }
  return true;
}

bool ReadFrame(int fd, std::string* payload) {
  char len_bytes[4];
  if (!ReadExact(fd, len_bytes, 4)) return false;
  std::string tmp(len_bytes, 4);
  size_t pos = 0;
  uint32_t len = 0;
  GetU32(tmp, &pos, &len);
  if (len == 0 || len > kMaxFrame) return false;
  payload->resize(len);
  return ReadExact(fd, payload->data(), len);
}

bool WriteFrame(int fd, const std::string& payload) {
  std::string len;
  PutU32(&len, static_cast<uint32_t>(payload.size()));
  return WriteExact(fd, len.data(), 4) && WriteExact(fd, payload.data(), payload.size());
}

std::string ErrorReply(const Status& st) {
  std::string out(
      1, static_cast<char>(st.code() == StatusCode::kOk ? StatusCode::kInternal : st.code()));
  out += st.message();
  return out;
}

}  // namespace

InferenceServer::InferenceServer(ModelHolder* holder, Telemetry* telemetry)
    : holder_(holder), telemetry_(telemetry) {}

InferenceServer::~InferenceServer() { Stop(); }

Status InferenceServer::Start(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long: " + path);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return IoError(std::string("socket: ") + std::strerror(errno));
  ::unlink(path.c_str());  // a socket file left by a crashed agent
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path.c_str(), 0660) != 0 || ::listen(listen_fd_, 64) != 0) {
    Status st = IoError("listen on " + path + ": " + std::strerror(errno));
    ::close(listen_fd_);
    listen_fd_ = -1;
    return st;
  }
  path_ = path;
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return Status::Ok();
}

void InferenceServer::Stop() {
  if (listen_fd_ < 0) return;
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  {
    // Connection threads are detached; wake their blocked reads and wait until all have ended.
    std::unique_lock<std::mutex> lock(mu_);
    for (int fd : client_fds_) ::shutdown(fd, SHUT_RDWR);
    idle_.wait(lock, [this] { return active_clients_ == 0; });
  }
  ::close(listen_fd_);
  ::unlink(path_.c_str());
  listen_fd_ = -1;
}

void InferenceServer::AcceptLoop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    if (active_clients_ >= kMaxClients) {
      WriteFrame(fd, ErrorReply(ResourceExhausted("too many clients")));
      ::close(fd);
      continue;
    }
    ++active_clients_;
    client_fds_.push_back(fd);
    std::thread([this, fd] { Serve(fd); }).detach();
  }
}

void InferenceServer::Serve(int fd) {
  timeval tv{30, 0};  // an idle client is dropped after 30 s
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string request;
  while (!stop_ && ReadFrame(fd, &request)) {
    if (!WriteFrame(fd, Handle(request))) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ::close(fd);
  std::erase(client_fds_, fd);
  --active_clients_;
  idle_.notify_all();
}

std::string InferenceServer::Handle(const std::string& request) {
  std::shared_ptr<const ActiveModel> model = holder_->Get();
  if (request[0] == 'I') {
    fleet::Json info = {{"serving", model != nullptr}};
    if (model) {
      info["model"] = model->info.ToJson();
      info["slot"] = model->slot;
    }
    std::string reply(1, '\0');
    reply += info.dump();  // appending (not operator+) avoids a GCC 12 -Wrestrict false positive
    return reply;
  }
  if (request[0] != 'R') return ErrorReply(InvalidArgument("unknown request type"));
  if (!model) return ErrorReply(Status(StatusCode::kFailedPrecondition, "no model installed yet"));
  auto start = std::chrono::steady_clock::now();
  size_t pos = 1;
  uint32_t count = 0;
  std::vector<Value> inputs;
  bool ok = GetU32(request, &pos, &count) && count <= 1024;
  for (uint32_t i = 0; ok && i < count; ++i) {
    uint32_t len = 0;
    ok = GetU32(request, &pos, &len) && len <= request.size() - pos;
    if (!ok) break;
    auto t = onnx::ParseTensor(request.substr(pos, len));
    if (!t.ok()) return ErrorReply(t.status().WithContext("input " + std::to_string(i)));
    inputs.emplace_back(std::move(t).value());
    pos += len;
  }
  if (!ok || pos != request.size()) return ErrorReply(InvalidArgument("malformed run request"));
  std::vector<Value> outputs;
  Status st = model->session->Run(inputs, &outputs);
  std::string reply(1, '\0');
  if (st.ok()) {
    PutU32(&reply, static_cast<uint32_t>(outputs.size()));
    for (size_t i = 0; i < outputs.size() && st.ok(); ++i) {
      auto bytes = onnx::SerializeValue(outputs[i], model->session->outputs()[i].name, false);
      if (!bytes.ok()) {
        st = bytes.status();
        break;
      }
      PutU32(&reply, static_cast<uint32_t>(bytes->size()));
      reply += *bytes;
    }
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                  start)
                .count();
  if (telemetry_) telemetry_->RecordRun(static_cast<uint64_t>(us), st.ok());
  return st.ok() ? reply : ErrorReply(st);
}

Result<std::string> SocketRequest(const std::string& path, const std::string& request) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) return InvalidArgument("socket path too long");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return IoError(std::string("socket: ") + std::strerror(errno));
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string reply;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            WriteFrame(fd, request) && ReadFrame(fd, &reply);
  int err = errno;
  ::close(fd);
  if (!ok) return IoError("request to " + path + " failed: " + std::strerror(err));
  return reply;
}

std::string EncodeRunRequest(const std::vector<std::string>& tensors) {
  std::string out = "R";
  PutU32(&out, static_cast<uint32_t>(tensors.size()));
  for (const auto& t : tensors) {
    PutU32(&out, static_cast<uint32_t>(t.size()));
    out += t;
  }
  return out;
}

Result<std::vector<std::string>> DecodeRunReply(const std::string& reply) {
  if (reply.empty()) return InvalidArgument("empty reply");
  if (reply[0] != 0) {
    return Status(static_cast<StatusCode>(static_cast<unsigned char>(reply[0])), reply.substr(1));
  }
  size_t pos = 1;
  uint32_t count = 0;
  if (!GetU32(reply, &pos, &count)) return InvalidArgument("malformed reply");
  std::vector<std::string> out;
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t len = 0;
    if (!GetU32(reply, &pos, &len) || len > reply.size() - pos)
      return InvalidArgument("malformed reply");
    out.push_back(reply.substr(pos, len));
    pos += len;
  }
  return out;
}

}  // namespace tern::agent
