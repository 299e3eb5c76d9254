#include "agent/telemetry.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "fleet/file_util.h"

namespace tern::agent {
namespace {

constexpr size_t kMaxPendingEvents = 512;

bool IsReportName(const std::string& n) {
  if (n.size() != 25 || n.substr(20) != ".json") return false;
  return std::all_of(n.begin(), n.begin() + 20, [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Telemetry::Telemetry(std::string state_dir, int max_reports)
    : dir_(std::move(state_dir) + "/telemetry"), max_reports_(max_reports) {}

Status Telemetry::Init() {
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(dir_));
  auto text = fleet::ReadFile(dir_ + "/meta.json", 64 << 10);
  if (text.ok()) {
    auto j = fleet::ParseJson(*text);
    if (j.ok() && j->is_object()) {
      if (j->contains("next_seq") && (*j)["next_seq"].is_number_integer()) {
        next_seq_ = std::max<int64_t>(1, (*j)["next_seq"].get<int64_t>());
      }
      if (j->contains("dropped") && (*j)["dropped"].is_number_unsigned()) {
        dropped_ = (*j)["dropped"].get<uint64_t>();
      }
    }
  }
  // A report file newer than the saved counter (a crash between the two writes) wins.
  for (const auto& f : QueuedFiles()) {
    next_seq_ =
        std::max<int64_t>(next_seq_, std::strtoll(f.substr(0, 20).c_str(), nullptr, 10) + 1);
  }
  return Status::Ok();
}

void Telemetry::RecordRun(uint64_t micros, bool ok) {
  inferences_.fetch_add(1, std::memory_order_relaxed);
  if (!ok) errors_.fetch_add(1, std::memory_order_relaxed);
  buckets_[fleet::LatencyBucket(micros)].fetch_add(1, std::memory_order_relaxed);
}

void Telemetry::AddEvent(int64_t now, const std::string& kind, const std::string& model,
                         const std::string& version, const std::string& detail,
                         const std::string& from_version) {
  std::lock_guard<std::mutex> lock(mu_);
  if (events_.size() >= kMaxPendingEvents) events_.erase(events_.begin());
  events_.push_back({now, kind, model, version, from_version, detail.substr(0, 1000)});
}

std::vector<std::string> Telemetry::QueuedFiles() const {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir_.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (IsReportName(e->d_name)) names.emplace_back(e->d_name);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status Telemetry::SaveMeta() {
  fleet::Json j = {{"next_seq", next_seq_}, {"dropped", dropped_}};
  return fleet::WriteFileAtomic(dir_ + "/meta.json", j.dump() + "\n");
}

Status Telemetry::Cut(int64_t now, const std::string& model, const std::string& version) {
  std::lock_guard<std::mutex> lock(mu_);
  fleet::TelemetryReport r;
  r.inferences = inferences_.exchange(0);
  r.errors = errors_.exchange(0);
  for (size_t i = 0; i < buckets_.size(); ++i) r.latency_buckets[i] = buckets_[i].exchange(0);
  r.events.swap(events_);
  if (r.inferences == 0 && r.events.empty()) return Status::Ok();
  r.seq = next_seq_++;
  r.from = since_ == 0 ? now : since_;
  r.to = now;
  since_ = now;
  r.model = model;
  r.version = version;
  char name[32];
  std::snprintf(name, sizeof name, "%020lld.json", static_cast<long long>(r.seq));
  TERN_RETURN_IF_ERROR(fleet::WriteFileAtomic(dir_ + "/" + name, r.ToJson().dump() + "\n"));
  auto files = QueuedFiles();
  for (size_t i = 0; files.size() - i > static_cast<size_t>(max_reports_); ++i) {
    ::unlink((dir_ + "/" + files[i]).c_str());
    ++dropped_;
  }
  return SaveMeta();
}

Result<int> Telemetry::Send(HubClient& client, const std::string& device_id) {
  std::lock_guard<std::mutex> lock(mu_);
  int sent = 0;
  for (const auto& name : QueuedFiles()) {
    const std::string path = dir_ + "/" + name;
    auto text = fleet::ReadFile(path, 8u << 20);
    auto j = text.ok() ? fleet::ParseJson(*text) : Result<fleet::Json>(text.status());
    if (!j.ok() || !fleet::TelemetryReport::FromJson(*j).ok()) {
      ::unlink(path.c_str());  // unreadable (a torn disk block): nothing to resend
      continue;
    }
    auto report = fleet::TelemetryReport::FromJson(*j);
    report->dropped_reports = dropped_;
    const std::string id = device_id.empty() ? std::string("device") : device_id;
    auto reply = client.Call("POST", "/v1/telemetry", report->ToHubBatch(id).dump());
    if (!reply.ok()) return reply.status();
    if (reply->status == 400 || reply->status == 413 || reply->status == 422) {
      std::fprintf(stderr, "tern-agent: telemetry report %s refused by the hub (HTTP %ld): %s\n",
                   name.c_str(), reply->status, reply->body.substr(0, 300).c_str());
      ::unlink(path.c_str());
      ++dropped_;
      TERN_RETURN_IF_ERROR(SaveMeta());
      continue;
    }
    if (reply->status / 100 != 2) {
      // 401/404/405/5xx: a hub that cannot take it now. Keep everything for later.
      return sent;
    }
    ::unlink(path.c_str());
    dropped_ = 0;
    ++sent;
    TERN_RETURN_IF_ERROR(SaveMeta());
  }
  return sent;
}

int Telemetry::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(QueuedFiles().size());
}

uint64_t Telemetry::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

}  // namespace tern::agent
