#include "agent/hub_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

namespace tern::agent {
namespace {

constexpr size_t kMaxJsonReply = 8u << 20;

bool Retryable(long status) { return status == 429 || status >= 500; }

size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  auto* s = static_cast<std::string*>(out);
  if (s->size() + size * n > kMaxJsonReply) return 0;  // aborts the transfer
  s->append(data, size * n);
  return size * n;
}

// libcurl's progress hook: a non-zero return aborts the transfer, so that a long-poll does not
// hold up a stopping agent.
int AbortWhenStopping(void* stop, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* flag = static_cast<const std::atomic<bool>*>(stop);
  return flag != nullptr && flag->load() ? 1 : 0;
}

struct DownloadSink {
  int fd = -1;
  CURL* curl = nullptr;
  uint64_t offset = 0;  // bytes on disk
  uint64_t expected = 0;
  bool started = false;
  bool to_file = false;
  std::string error_body;
  std::string error;
  const std::function<void(uint64_t)>* on_chunk = nullptr;
  DownloadStats* stats = nullptr;
};

size_t WriteDownload(char* data, size_t size, size_t n, void* p) {
  auto* s = static_cast<DownloadSink*>(p);
  const size_t len = size * n;
  if (!s->started) {
    s->started = true;
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) {
      // The server ignored the range: start over.
      if (::ftruncate(s->fd, 0) != 0) {
        s->error = std::string("truncate: ") + std::strerror(errno);
        return 0;
      }
      s->offset = 0;
      s->to_file = true;
    } else if (status == 206) {
      s->to_file = true;
    }
  }
  if (!s->to_file) {
    if (s->error_body.size() < 4096) s->error_body.append(data, std::min<size_t>(len, 4096));
    return len;
  }
  if (s->offset + len > s->expected) {
    s->error = "the server sent more than the " + std::to_string(s->expected) + " bytes expected";
    return 0;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t w = ::pwrite(s->fd, data + done, len - done, static_cast<off_t>(s->offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      s->error = std::string("write: ") + std::strerror(errno);
      return 0;
    }
    done += static_cast<size_t>(w);
  }
  s->offset += len;
  s->stats->fetched += len;
  if (*s->on_chunk) (*s->on_chunk)(s->offset);
  return len;
}

// TLS: the system's CA store unless a CA file is configured (a private CA or a self-signed
// hub certificate); peers and host names are always verified.
void ApplyTls(CURL* curl, const AgentConfig& config) {
  if (!config.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_file.c_str());
}

}  // namespace

HubClient::HubClient(const AgentConfig& config, const std::atomic<bool>* stop)
    : config_(config), stop_(stop), rng_(std::random_device{}()) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

HubClient::~HubClient() { curl_global_cleanup(); }

bool HubClient::Backoff(int attempt) {
  // Full jitter: a uniform delay in [0, min(max, initial * 2^(attempt-1))].
  int64_t cap = config_.backoff_initial_ms;
  for (int i = 1; i < attempt && cap < config_.backoff_max_ms; ++i) cap *= 2;
  cap = std::min<int64_t>(cap, config_.backoff_max_ms);
  int64_t delay = std::uniform_int_distribution<int64_t>(0, cap)(rng_);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
  while (std::chrono::steady_clock::now() < until) {
    if (stop_ && stop_->load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(delay, 50)));
  }
  return !(stop_ && stop_->load());
}

Result<HttpReply> HubClient::Once(const std::string& method, const std::string& path,
                                  const std::string& body, const std::string& bearer, int timeout_s,
                                  const std::string& body_file,
                                  const std::vector<std::string>& extra_headers) {
  HttpReply reply;
  FILE* upload = nullptr;
  struct stat upload_stat {};
  if (!body_file.empty()) {
    upload = std::fopen(body_file.c_str(), "rb");
    if (!upload || ::fstat(fileno(upload), &upload_stat) != 0) {
      if (upload) std::fclose(upload);
      return IoError("cannot read " + body_file);
    }
  }
  CURL* curl = curl_easy_init();
  if (!curl) {
    if (upload) std::fclose(upload);
    return Internal("curl_easy_init failed");
  }
  const std::string url = config_.hub_url + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  ApplyTls(curl, config_);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(timeout_s));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortWhenStopping);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, stop_);
  curl_slist* headers = nullptr;
  const std::string& token = bearer.empty() ? token_ : bearer;
  if (!token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
  for (const auto& h : extra_headers) headers = curl_slist_append(headers, h.c_str());
  if (upload) {
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_READDATA, upload);  // libcurl's default reader is fread
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(upload_stat.st_size));
  } else if (method == "POST") {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (upload) std::fclose(upload);
  if (rc != CURLE_OK) {
    return IoError(method + " " + url + ": " + curl_easy_strerror(rc));
  }
  return reply;
}

Result<HttpReply> HubClient::Call(const std::string& method, const std::string& path,
                                  const std::string& body, const std::string& bearer,
                                  int timeout_s) {
  if (timeout_s <= 0) timeout_s = config_.http_timeout_s;
  Result<HttpReply> last = IoError("not tried");
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    if (attempt > 1 && !Backoff(attempt - 1)) break;
    last = Once(method, path, body, bearer, timeout_s);
    if (last.ok() && !Retryable(last->status)) return last;
  }
  return last;
}

Result<HttpReply> HubClient::Upload(const std::string& path, const std::string& file,
                                    const std::string& sha256_hex) {
  Result<HttpReply> last = IoError("not tried");
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    if (attempt > 1 && !Backoff(attempt - 1)) break;
    last = Once("POST", path, "", "", 0, file, {"X-Tern-Sha256: " + sha256_hex});
    if (last.ok() && !Retryable(last->status)) return last;
  }
  return last;
}

Result<fleet::Json> HubClient::GetJson(const std::string& path) {
  TERN_ASSIGN_OR_RETURN(HttpReply r, Call("GET", path));
  if (r.status != 200) {
    return Status(
        r.status == 404 ? StatusCode::kOutOfRange : StatusCode::kIoError,
        "GET " + path + ": HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200));
  }
  auto j = fleet::ParseJson(r.body);
  if (!j.ok()) return j.status().WithContext("GET " + path);
  return j;
}

Status HubClient::DownloadOnce(const std::string& url, const std::string& partial_file,
                               uint64_t expected_size,
                               const std::function<void(uint64_t)>& on_chunk, DownloadStats* stats,
                               bool* retryable) {
  *retryable = false;
  int fd = ::open(partial_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("open " + partial_file + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  DownloadSink sink;
  sink.fd = fd;
  sink.offset = static_cast<uint64_t>(st.st_size);
  sink.expected = expected_size;
  sink.on_chunk = &on_chunk;
  sink.stats = stats;
  if (sink.offset > expected_size) {  // not ours, or a different file: start over
    if (::ftruncate(fd, 0) != 0) {
      ::close(fd);
      return IoError("truncate " + partial_file + ": " + std::strerror(errno));
    }
    sink.offset = 0;
  }
  if (stats->attempts == 0) stats->resumed_from = sink.offset;
  ++stats->attempts;
  if (sink.offset == expected_size) {
    ::close(fd);
    return Status::Ok();
  }
  CURL* curl = curl_easy_init();
  sink.curl = curl;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  ApplyTls(curl, config_);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  // A stalled link (under 1 KiB/s for the HTTP timeout) is dropped and retried from where it
  // stopped; there is no total timeout, since a big model on a slow link may take long.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config_.http_timeout_s));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteDownload);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_slist* headers = curl_slist_append(nullptr, ("Authorization: Bearer " + token_).c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const std::string range = std::to_string(sink.offset) + "-";
  if (sink.offset > 0) curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  // What arrived is kept (and made durable) even when the transfer failed: the next try, or the
  // next run after a crash or power cut, resumes from it.
  Status result = Status::Ok();
  if (::fsync(fd) != 0) result = IoError("fsync " + partial_file + ": " + std::strerror(errno));
  ::close(fd);
  if (!sink.error.empty()) return IoError("download " + url + ": " + sink.error);
  if (rc != CURLE_OK) {
    *retryable = true;
    return IoError("download " + url + ": " + curl_easy_strerror(rc));
  }
  if (status == 416) {  // our partial file is longer than the blob: start over next time
    ::truncate(partial_file.c_str(), 0);
    *retryable = true;
    return IoError("download " + url + ": range not satisfiable");
  }
  if (status != 200 && status != 206) {
    *retryable = Retryable(status);
    return IoError("download " + url + ": HTTP " + std::to_string(status) + " " + sink.error_body);
  }
  if (sink.offset != expected_size) {
    *retryable = true;
    return IoError("download " + url + ": got " + std::to_string(sink.offset) + " of " +
                   std::to_string(expected_size) + " bytes");
  }
  return result;
}

Result<DownloadStats> HubClient::Download(const std::string& path, const std::string& partial_file,
                                          uint64_t expected_size,
                                          const std::function<void(uint64_t)>& on_chunk) {
  DownloadStats stats;
  const std::string url = config_.hub_url + path;
  Status last;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    if (attempt > 1 && !Backoff(attempt - 1)) break;
    bool retryable = false;
    last = DownloadOnce(url, partial_file, expected_size, on_chunk, &stats, &retryable);
    if (last.ok()) return stats;
    if (!retryable) break;
  }
  return last;
}

}  // namespace tern::agent
