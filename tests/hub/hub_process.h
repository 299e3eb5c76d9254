// Test helpers shared by the hub's loopback tests: a real `tern-hub serve` process on
// 127.0.0.1 (ephemeral port, temporary data folder) and a small libcurl client. Every wait is
// bounded.
#pragma once

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "fleet/canonical_json.h"
#include "fleet/file_util.h"
#include "hub/telemetry.h"

namespace tern::hub::testing {

using fleet::Json;

struct Reply {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  Json json() const { return Json::parse(body, nullptr, false); }
};

inline size_t OnBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

inline size_t OnHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

inline std::string ReadText(const std::string& path) {
  auto r = fleet::ReadFile(path);
  return r.ok() ? *r : "";
}

inline std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

class HubProcess {
 public:
  /// `name` tells apart hubs that share a data folder (replicas): it names the port file.
  explicit HubProcess(std::string data_dir, std::vector<std::string> extra_args = {},
                      std::string name = "hub")
      : data_(std::move(data_dir)),
        extra_args_(std::move(extra_args)),
        port_file_(data_ + "." + name + ".port") {}
  ~HubProcess() { Kill(); }

  // Starts the hub and waits (bounded) until /v1/health answers 200.
  bool Start() {
    const std::string& port_file = port_file_;
    std::filesystem::remove(port_file);
    std::vector<std::string> args = {TERN_HUB_BINARY, "serve",       "--data",          data_,
                                     "--listen",      "127.0.0.1:0", "--port-file",     port_file,
                                     "--threads",     "2",           "--max-upload-mb", "2"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    pid_ = fork();
    if (pid_ == 0) {
      // Third-party leaks the sanitizer build should not fail on (see lsan.supp).
      const char* lsan = getenv("LSAN_OPTIONS");
      std::string options = std::string(lsan ? lsan : "") + (lsan && *lsan ? ":" : "") +
                            "suppressions=" + TERN_HUB_LSAN_SUPPRESSIONS;
      setenv("LSAN_OPTIONS", options.c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {  // up to 10 s
      std::string text = Trimmed(ReadText(port_file));
      if (!text.empty()) {
        port_ = std::stoi(text);
        break;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (int i = 0; i < 100 && port_ > 0; ++i) {
      if (Get("/v1/health").status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // SIGTERM, then waits (bounded) for a clean exit. Returns the exit status or -1.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {  // up to 10 s
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Kill();
    return -1;
  }

  void Kill() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }

  struct Options {
    std::string method = "GET";
    std::string token;
    std::vector<std::string> headers;
    std::string body;
    bool has_body = false;
    std::string raw_target;  // sent verbatim as the request target
  };

  Reply Call(const std::string& path, const Options& o) const {
    Reply reply;
    CURL* curl = curl_easy_init();
    std::string url = "http://127.0.0.1:" + std::to_string(port_) + path;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
    if (!o.raw_target.empty()) curl_easy_setopt(curl, CURLOPT_REQUEST_TARGET, o.raw_target.c_str());
    if (o.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (o.method != "GET") {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, o.method.c_str());
    }
    if (o.has_body || !o.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, o.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(o.body.size()));
    }
    curl_slist* list = nullptr;
    if (!o.token.empty())
      list = curl_slist_append(list, ("Authorization: Bearer " + o.token).c_str());
    for (const auto& h : o.headers) list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    CURLcode rc = curl_easy_perform(curl);
    if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return reply;
  }

  Reply Get(const std::string& path, const std::string& token = "",
            std::vector<std::string> headers = {}) const {
    Options o;
    o.token = token;
    o.headers = std::move(headers);
    return Call(path, o);
  }

  Reply Post(const std::string& path, const std::string& token, const std::string& body,
             const std::string& content_type = "application/json") const {
    Options o;
    o.method = "POST";
    o.token = token;
    o.body = body;
    o.has_body = true;
    o.headers = {"Content-Type: " + content_type};
    return Call(path, o);
  }

  std::string AdminToken() const { return Trimmed(ReadText(data_ + "/admin.key")); }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
  std::vector<std::string> extra_args_;
  std::string port_file_;
  pid_t pid_ = -1;
  int port_ = 0;
};

/// Runs `tern-hub keys create` and returns the printed token. `store`: the --store URL.
inline std::string CreateKey(const std::string& data, const std::string& role,
                             const std::string& store = "") {
  std::string cmd = std::string(TERN_HUB_BINARY) + " keys create --data " + data + " --name test-" +
                    role + " --role " + role + (store.empty() ? "" : " --store " + store);
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  char buf[256] = {};
  std::string out;
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  return Trimmed(out);
}

/// A telemetry batch as an agent sends it: `events`, and while it runs `running` of model "vad"
/// ("" = nothing), 50 inferences without errors and a fixed latency histogram.
inline Json AgentBatch(const std::string& batch_id, const Json& events,
                       const std::string& running) {
  Json body = {{"batch_id", batch_id}, {"events", events}};
  if (!running.empty()) {
    Json counts = Json::array();
    for (size_t i = 0; i < kLatencyBuckets; ++i) counts.push_back(i == 3 ? 40 : i == 4 ? 10 : 0);
    body["active"] = {{"model", "vad"}, {"version", running}};
    body["reports"] = {{{"model", "vad"},
                        {"version", running},
                        {"inferences", 50},
                        {"errors", 0},
                        {"latency_ms", {{"bounds", kLatencyBoundsMs}, {"counts", counts}}}}};
  }
  return body;
}

}  // namespace tern::hub::testing
