// Helpers for the agent's loopback tests: a real tern-hub process, tern-agent runs, test models
// (Y = X + W with a 400 KB weight, so every download spans many chunks) and probe archives.
#pragma once

#include <onnx/onnx_pb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agent/hub_client.h"
#include "agent/server.h"
#include "fleet/file_util.h"
#include "model_builder.h"

namespace tern::agent::test {

using fleet::Json;
constexpr int64_t kElems = 100000;

inline std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

/// A fresh folder under the system's temporary folder ("" when it cannot be made).
inline std::string MakeTempDir(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  return mkdtemp(pattern.data()) ? pattern : "";
}

inline std::string Slurp(const std::string& path) {
  auto r = fleet::ReadFile(path, 64u << 20);
  return r.ok() ? *r : "";
}

inline Json SlurpJson(const std::string& path) { return Json::parse(Slurp(path), nullptr, false); }

/// Starts `argv` with extra environment variables; returns the pid.
inline pid_t Spawn(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    if (!log.empty()) {
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

/// Waits (bounded) for `pid`; returns its exit code, or -1 (killed after the timeout).
inline int WaitExit(pid_t pid, int timeout_s = 120) {
  for (int i = 0; i < timeout_s * 20; ++i) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

class Hub {
 public:
  explicit Hub(std::string data, std::vector<std::string> extra_args = {})
      : data_(std::move(data)), extra_args_(std::move(extra_args)) {}
  ~Hub() { Kill(); }
  bool Start() {
    const std::string port_file = data_ + ".port";
    std::filesystem::remove(port_file);
    std::vector<std::string> args = {TERN_HUB_BINARY, "serve",
                                     "--data",        data_,
                                     "--listen",      "127.0.0.1:" + std::to_string(port_),
                                     "--port-file",   port_file,
                                     "--threads",     "2"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    pid_ = Spawn(args, {}, data_ + ".log");
    for (int i = 0; i < 200; ++i) {
      std::string text = Trim(Slurp(port_file));
      if (!text.empty()) {
        port_ = std::stoi(text);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (int i = 0; i < 100 && port_ > 0; ++i) {
      auto r = Admin().Call("GET", "/v1/health");
      if (r.ok() && r->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      WaitExit(pid_, 20);
      pid_ = -1;
    }
  }
  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  std::string url() const {
    return (ca_file_.empty() ? "http://" : "https://") + std::string("127.0.0.1:") +
           std::to_string(port_);
  }
  /// The hub serves HTTPS with a certificate that `ca_file` verifies (call before Start).
  void UseTls(const std::string& ca_file) { ca_file_ = ca_file; }
  const std::string& data() const { return data_; }
  /// A client with the admin token (few retries: tests want answers, not patience).
  HubClient& Admin() {
    config_.hub_url = url();
    config_.ca_file = ca_file_;
    config_.max_attempts = 2;
    config_.backoff_initial_ms = 10;
    config_.backoff_max_ms = 50;
    client_ = std::make_unique<HubClient>(config_, nullptr);
    client_->set_token(Trim(Slurp(data_ + "/admin.key")));
    return *client_;
  }
  std::string CreateEnrollKey() {
    std::string cmd = std::string(TERN_HUB_BINARY) + " keys create --data " + data_ +
                      " --name factory --role enroll";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[256];
    while (p && fgets(buf, sizeof buf, p)) out += buf;
    if (p) pclose(p);
    return Trim(out);
  }
  std::string Upload(const std::string& bytes) {
    // POST /v1/blobs takes octet-stream; HubClient speaks JSON, so use curl directly.
    std::string cmd;
    const std::string tmp = data_ + ".upload";
    (void)fleet::WriteFileAtomic(tmp, bytes);
    cmd = "curl -s --noproxy '*' " + (ca_file_.empty() ? "" : "--cacert " + ca_file_ + " ") +
          "-H 'Authorization: Bearer " + Trim(Slurp(data_ + "/admin.key")) +
          "' -H 'Content-Type: application/octet-stream' --data-binary @" + tmp + " " + url() +
          "/v1/blobs";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (p && fgets(buf, sizeof buf, p)) out += buf;
    if (p) pclose(p);
    Json j = Json::parse(out, nullptr, false);
    return j.is_object() ? j.value("sha256", "") : "";
  }

 private:
  std::string data_;
  std::vector<std::string> extra_args_;
  std::string ca_file_;
  pid_t pid_ = -1;
  int port_ = 0;
  AgentConfig config_;
  std::unique_ptr<HubClient> client_;
};

/// What a device gets out of band: an enroll key (DIR/enroll.key) and the root metadata
/// (DIR/root.json). False when the hub does not hand them out.
inline bool Provision(Hub& hub, const std::string& dir) {
  const std::string enroll = hub.CreateEnrollKey();
  if (enroll.rfind("tern_enr_", 0) != 0) return false;
  if (!fleet::WriteFileAtomic(dir + "/enroll.key", enroll + "\n", 0600).ok()) return false;
  auto root = hub.Admin().Call("GET", "/v1/root.json");
  if (!root.ok() || root->status != 200) return false;
  return fleet::WriteFileAtomic(dir + "/root.json", root->body).ok();
}

/// Y = X + W, float[elems], W filled with `w`.
inline std::string AddModel(float w, int64_t elems = kElems) {
  tern::test::ModelBuilder b;
  b.Input("X", ::onnx::TensorProto::FLOAT, {elems})
      .Output("Y", ::onnx::TensorProto::FLOAT, {elems})
      .FloatInit("W", {elems}, std::vector<float>(static_cast<size_t>(elems), w));
  b.Node("Add", {"X", "W"}, {"Y"});
  return b.Bytes();
}

inline std::string TensorBytes(const std::vector<float>& v, const std::string& name = "") {
  ::onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(::onnx::TensorProto::FLOAT);
  t.add_dims(static_cast<int64_t>(v.size()));
  t.set_raw_data(v.data(), v.size() * sizeof(float));
  return t.SerializeAsString();
}

inline std::vector<float> TensorValues(const std::string& bytes) {
  ::onnx::TensorProto t;
  if (!t.ParseFromString(bytes) || t.raw_data().size() % 4) return {};
  std::vector<float> v(t.raw_data().size() / 4);
  std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
  return v;
}

inline std::vector<float> Ramp(float start, int64_t elems = kElems) {
  std::vector<float> v(static_cast<size_t>(elems));
  for (int64_t i = 0; i < elems; ++i) v[i] = start + static_cast<float>(i % 97);
  return v;
}

/// A probe archive made by the system tar: input_0.pb = Ramp(0), output_0.pb = input + `w`.
inline std::string ProbeArchive(const std::string& dir, float w, int64_t elems = kElems) {
  std::filesystem::create_directories(dir);
  std::vector<float> in = Ramp(0, elems), out = in;
  for (auto& x : out) x += w;
  (void)fleet::WriteFileAtomic(dir + "/input_0.pb", TensorBytes(in));
  (void)fleet::WriteFileAtomic(dir + "/output_0.pb", TensorBytes(out));
  std::string cmd = "tar -cf " + dir + "/probe.tar -C " + dir + " input_0.pb output_0.pb";
  if (std::system(cmd.c_str()) != 0) return "";
  return Slurp(dir + "/probe.tar");
}

}  // namespace tern::agent::test
