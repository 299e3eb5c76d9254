#include "agent/agent.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "agent/health.h"
#include "ep/provider.h"
#include "fleet/crypto.h"
#include "fleet/delta.h"
#include "fleet/file_util.h"

namespace tern::agent {
namespace {

using fleet::Json;

constexpr int kMaxRootSteps = 64;

// The configured providers that this libtern build has (a config written for a newer build may
// name more); "ref" when none is left, since every build has it.
std::vector<std::string> UsableProviders(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string name = list.substr(start, comma - start);
    if (!name.empty() && MakeProvider(name).ok()) out.push_back(name);
    start = comma + 1;
  }
  if (out.empty()) out.push_back("ref");
  return out;
}

// [A-Za-z0-9][A-Za-z0-9._+-]{0,127}, as the hub requires of model and version names.
bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 128 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '+' &&
        c != '-') {
      return false;
    }
  }
  return true;
}

std::string StringOr(const Json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return j.is_object() && it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// Percent-encodes everything but unreserved characters (RFC 3986), for query values.
std::string UrlEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

void Log(const std::string& line) { std::fprintf(stderr, "tern-agent: %s\n", line.c_str()); }

Result<Json> ReadJsonFile(const std::string& path) {
  TERN_ASSIGN_OR_RETURN(std::string text, fleet::ReadFile(path, 4u << 20));
  return fleet::ParseJson(text);
}

}  // namespace

const char* SyncOutcomeName(SyncOutcome o) {
  switch (o) {
    case SyncOutcome::kUpToDate:
      return "up_to_date";
    case SyncOutcome::kInstalled:
      return "installed";
    case SyncOutcome::kRolledBack:
      return "rolled_back";
    case SyncOutcome::kDeferred:
      return "deferred";
    case SyncOutcome::kSkipped:
      return "skipped";
    case SyncOutcome::kRefused:
      return "refused";
    case SyncOutcome::kNoTarget:
      return "no_target";
  }
  return "?";
}

Agent::Agent(AgentConfig config)
    : config_(std::move(config)),
      crash_(config_.crash_at),
      client_(config_, &stop_),
      slots_(config_.state_dir, crash_),
      telemetry_(config_.state_dir, config_.telemetry_max_reports),
      providers_(UsableProviders(config_.providers)) {
  if (config_.socket_path.empty()) config_.socket_path = config_.state_dir + "/agent.sock";
}

Agent::~Agent() {
  Stop();
  if (fl_thread_.joinable()) fl_thread_.join();
  if (server_) server_->Stop();
}

void Agent::StartFl() {
  const bool enabled = fl_data_ || !config_.fl.data_dir.empty();
  if (!enabled || fl_ || device_token_.empty()) return;
  fl_ = std::make_unique<FlWorker>(config_, &stop_, crash_, std::move(fl_data_));
  fl_->set_device(device_id_, device_token_);
  fl_thread_ = std::thread([this] { FlLoop(); });
}

void Agent::FlLoop() {
  std::mt19937_64 rng(std::random_device{}());
  while (!stop_) {
    auto wait_s = fl_->RunOnce();
    if (!wait_s.ok()) Log("fl: " + wait_s.status().ToString());
    // A failed check-in retries after a while; jitter spreads a fleet's check-ins.
    const double base = wait_s.ok() ? *wait_s : 10.0;
    const double jittered = base * std::uniform_real_distribution<double>(1.0, 1.2)(rng);
    std::unique_lock<std::mutex> lock(wait_mu_);
    wait_cv_.wait_for(lock, std::chrono::milliseconds(static_cast<int64_t>(jittered * 1000)),
                      [this] { return stop_.load(); });
  }
}

int64_t Agent::Now() const {
  return static_cast<int64_t>(std::time(nullptr)) + config_.time_offset_s;
}

void Agent::Event(const std::string& kind, const std::string& model, const std::string& version,
                  const std::string& detail, const std::string& from_version) {
  Log(kind + " " + model + " " + version +
      (from_version.empty() ? "" : " (from " + from_version + ")") +
      (detail.empty() ? "" : ": " + detail));
  telemetry_.AddEvent(Now(), kind, model, version, detail, from_version);
}

void Agent::WriteStatus(const std::string& outcome, const std::string& message) {
  auto active = holder_.Get();
  Json j = {{"outcome", outcome},
            {"message", message},
            {"time", Now()},
            {"active", active ? active->info.ToJson() : Json()},
            {"slot", active ? active->slot : ""},
            {"resumed_from", last_resumed_from_},
            {"last_fetch", last_fetch_},
            {"telemetry_queued", telemetry_.queued()},
            {"telemetry_dropped", telemetry_.dropped()}};
  Status st = fleet::WriteFileAtomic(config_.state_dir + "/status.json", j.dump(2) + "\n");
  if (!st.ok()) Log("cannot write status: " + st.ToString());
}

Status Agent::SaveTrust() {
  return fleet::WriteFileAtomic(config_.state_dir + "/trust.json",
                                trust_->SaveState().dump() + "\n", 0600);
}

Status Agent::Init() {
  TERN_RETURN_IF_ERROR(config_.Validate());
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(config_.state_dir, 0700));
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(config_.state_dir + "/downloads", 0700));
  TERN_RETURN_IF_ERROR(slots_.Init());
  TERN_RETURN_IF_ERROR(telemetry_.Init());
  // Trust: what this agent saw last, else the root provisioned with the device.
  const std::string trust_path = config_.state_dir + "/trust.json";
  if (::access(trust_path.c_str(), F_OK) == 0) {
    TERN_ASSIGN_OR_RETURN(Json state, ReadJsonFile(trust_path));
    TERN_ASSIGN_OR_RETURN(fleet::TrustStore ts, fleet::TrustStore::LoadState(state));
    trust_.emplace(std::move(ts));
  } else {
    if (config_.root_file.empty()) return InvalidArgument("no trust state yet and no root_file");
    TERN_ASSIGN_OR_RETURN(Json root, ReadJsonFile(config_.root_file));
    auto ts = fleet::TrustStore::Bootstrap(root);
    if (!ts.ok()) return ts.status().WithContext(config_.root_file);
    trust_.emplace(std::move(ts).value());
    TERN_RETURN_IF_ERROR(SaveTrust());
  }
  const std::string device_path = config_.state_dir + "/device.json";
  if (::access(device_path.c_str(), F_OK) == 0) {
    TERN_ASSIGN_OR_RETURN(Json dev, ReadJsonFile(device_path));
    if (dev.is_object() && dev.contains("token") && dev["token"].is_string()) {
      device_token_ = dev["token"];
      device_id_ = StringOr(dev, "id");
      client_.set_token(device_token_);
    }
  }
  TERN_RETURN_IF_ERROR(Recover());
  WriteStatus("started", "");
  return Status::Ok();
}

Status Agent::StartServing() {
  server_ = std::make_unique<InferenceServer>(&holder_, &telemetry_);
  return server_->Start(config_.socket_path);
}

Status Agent::LoadActive(const std::string& slot, const SlotInfo& info,
                         std::unique_ptr<Session> session) {
  if (!session) {
    SessionOptions so;
    so.providers = providers_;
    auto s = Session::Load(slots_.ModelPath(slot), so);
    if (!s.ok()) return s.status().WithContext("load slot " + slot);
    session = std::move(s).value();
  }
  auto m = std::make_shared<ActiveModel>();
  m->session = std::move(session);
  m->info = info;
  m->slot = slot;
  holder_.Set(std::move(m));
  return Status::Ok();
}

bool Agent::FailedBefore(const SlotInfo& info) const {
  auto j = ReadJsonFile(config_.state_dir + "/failed.json");
  if (!j.ok() || !j->is_object() || !j->contains(info.model)) return false;
  const Json& f = (*j)[info.model];
  return f.is_object() && StringOr(f, "sha256") == info.sha256 && f.contains("manifest_version") &&
         f["manifest_version"].is_number_integer() &&
         f["manifest_version"].get<int64_t>() == info.manifest_version;
}

Status Agent::MarkFailed(const SlotInfo& info) {
  auto j = ReadJsonFile(config_.state_dir + "/failed.json");
  Json all = j.ok() && j->is_object() ? *j : Json::object();
  all[info.model] = {{"sha256", info.sha256},
                     {"manifest_version", info.manifest_version},
                     {"model_version", info.model_version}};
  return fleet::WriteFileAtomic(config_.state_dir + "/failed.json", all.dump() + "\n");
}

Status Agent::Rollback(const SlotPointer& from, const std::string& why) {
  auto bad = slots_.VerifySlot(from.slot);
  if (bad.ok()) {
    std::string back_to;
    if (!from.previous.empty()) {
      auto good = slots_.VerifySlot(from.previous);
      if (good.ok() && good->model == bad->model) back_to = good->model_version;
    }
    Event("rollback", bad->model, back_to, why, bad->model_version);
    TERN_RETURN_IF_ERROR(MarkFailed(*bad));
  }
  crash_.Hit("rollback_begin");
  if (!from.previous.empty()) {
    auto good = slots_.VerifySlot(from.previous);
    if (good.ok()) {
      TERN_RETURN_IF_ERROR(slots_.WritePointer({from.previous, false, 0, ""}, "rollback"));
      if (!holder_.Get() || holder_.Get()->slot != from.previous) {
        return LoadActive(from.previous, *good, nullptr);
      }
      return Status::Ok();
    }
  }
  // No last known good (a first install that failed): serve nothing rather than a bad model.
  if (::unlink((config_.state_dir + "/current").c_str()) != 0 && errno != ENOENT) {
    return IoError("cannot remove the pointer");
  }
  holder_.Set(nullptr);
  return fleet::FsyncDir(config_.state_dir);
}

Result<SyncOutcome> Agent::Trial(SlotPointer p) {
  crash_.Hit("health_begin");
  auto info = slots_.VerifySlot(p.slot);
  Status failure;
  std::unique_ptr<Session> session;
  if (!info.ok()) {
    failure = info.status();
  } else {
    HealthOptions ho;
    ho.providers = providers_;
    ho.atol = config_.probe_atol;
    ho.rtol = config_.probe_rtol;
    ho.latency_budget_ms = config_.probe_latency_budget_ms;
    HealthReport report;
    auto s = CheckHealth(slots_.ModelPath(p.slot),
                         info->probe_sha256.empty() ? "" : slots_.ProbePath(p.slot), ho, &report);
    if (s.ok()) {
      session = std::move(s).value();
    } else {
      failure = s.status();
    }
  }
  if (!failure.ok()) {
    Event("health_failed", info.ok() ? info->model : "", info.ok() ? info->model_version : "",
          failure.ToString());
    TERN_RETURN_IF_ERROR(Rollback(p, failure.ToString()));
    return SyncOutcome::kRolledBack;
  }
  crash_.Hit("health_passed");
  TERN_RETURN_IF_ERROR(slots_.WritePointer({p.slot, false, 0, p.previous}, "commit"));
  auto before = holder_.Get();
  const std::string from_version =
      before && before->info.model == info->model ? before->info.model_version : "";
  // The swap: requests already running finish on the old session, new ones get this one.
  TERN_RETURN_IF_ERROR(LoadActive(p.slot, *info, std::move(session)));
  Event("health_passed", info->model, info->model_version, "");
  Event("install", info->model, info->model_version,
        "slot " + p.slot + ", variant " + info->variant, from_version);
  return SyncOutcome::kInstalled;
}

Status Agent::Recover() {
  auto pointer = slots_.ReadPointer();
  if (!pointer.ok()) {
    // A damaged pointer (a disk fault; writes to it are atomic): try a verified slot that did not
    // fail before, as a trial, so it is health-checked before it serves.
    Event("pointer_damaged", "", "", pointer.status().ToString());
    for (const char* slot : {"a", "b"}) {
      auto info = slots_.VerifySlot(slot);
      if (!info.ok() || FailedBefore(*info)) continue;
      const std::string other = SlotStore::Other(slot);
      SlotPointer p{slot, true, 1, slots_.VerifySlot(other).ok() ? other : ""};
      TERN_RETURN_IF_ERROR(slots_.WritePointer(p, "repair"));
      auto r = Trial(p);
      return r.ok() ? Status::Ok() : r.status();
    }
    return ::unlink((config_.state_dir + "/current").c_str()) == 0
               ? Status::Ok()
               : IoError("cannot reset pointer");
  }
  if (!pointer->has_value()) return Status::Ok();  // nothing installed yet
  SlotPointer p = **pointer;
  if (p.trial) {
    if (p.attempts >= config_.max_trial_attempts) {
      return Rollback(p, "health check interrupted " + std::to_string(p.attempts) + " times");
    }
    // The switch was interrupted before its health check finished: check again, counting the
    // try first, so a model that kills the agent cannot loop forever.
    ++p.attempts;
    TERN_RETURN_IF_ERROR(slots_.WritePointer(p, "retrial"));
    auto r = Trial(p);
    return r.ok() ? Status::Ok() : r.status();
  }
  auto info = slots_.VerifySlot(p.slot);
  Status st = info.ok() ? LoadActive(p.slot, *info, nullptr) : info.status();
  if (st.ok()) return st;
  // The live slot is damaged (a disk fault; the update protocol never leaves it so).
  Event("slot_damaged", "", "", st.ToString());
  if (!p.previous.empty()) {
    auto prev = slots_.VerifySlot(p.previous);
    if (prev.ok() && LoadActive(p.previous, *prev, nullptr).ok()) {
      return slots_.WritePointer({p.previous, false, 0, ""}, "rollback");
    }
  }
  return Status::Ok();  // keep running: the next sync installs a fresh copy
}

Status Agent::EnsureRegistered() {
  if (!device_token_.empty()) return Status::Ok();
  std::string enroll = config_.enroll_key;
  if (enroll.empty() && !config_.enroll_key_file.empty()) {
    TERN_ASSIGN_OR_RETURN(enroll, fleet::ReadFile(config_.enroll_key_file, 4096));
    while (!enroll.empty() && (enroll.back() == '\n' || enroll.back() == '\r')) enroll.pop_back();
  }
  if (enroll.empty()) return InvalidArgument("not registered and no enroll key configured");
  Json body = {{"capabilities", DetectCapabilities(config_.state_dir, providers_).ToJson()}};
  if (!config_.device_name.empty()) body["name"] = config_.device_name;
  TERN_ASSIGN_OR_RETURN(HttpReply r,
                        client_.Call("POST", "/v1/devices/register", body.dump(), enroll));
  if (r.status != 201) {
    return IoError("registration: HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 200));
  }
  TERN_ASSIGN_OR_RETURN(Json reply, fleet::ParseJson(r.body));
  if (!reply.is_object() || !reply.contains("token") || !reply["token"].is_string()) {
    return IoError("registration: no token in the reply");
  }
  Json dev = {{"id", StringOr(reply, "id")}, {"token", reply["token"]}};
  TERN_RETURN_IF_ERROR(
      fleet::WriteFileAtomic(config_.state_dir + "/device.json", dev.dump() + "\n", 0600));
  device_token_ = reply["token"];
  device_id_ = StringOr(reply, "id");
  client_.set_token(device_token_);
  Event("registered", "", "", dev["id"]);
  return Status::Ok();
}

Status Agent::RefreshRoot() {
  for (int i = 0; i < kMaxRootSteps; ++i) {
    const int64_t next = trust_->root().version + 1;
    auto r = client_.Call("GET", "/v1/root/" + std::to_string(next) + ".json");
    if (!r.ok()) return r.status();
    if (r->status == 404) return Status::Ok();
    if (r->status != 200)
      return IoError("root v" + std::to_string(next) + ": HTTP " + std::to_string(r->status));
    TERN_ASSIGN_OR_RETURN(Json env, fleet::ParseJson(r->body));
    TERN_RETURN_IF_ERROR(trust_->UpdateRoot(env));
    TERN_RETURN_IF_ERROR(SaveTrust());
    Event("root_updated", "", "", std::to_string(next));
  }
  return Status::Ok();
}

Result<Agent::Target> Agent::ResolveTarget(int wait_s) {
  Target t;
  t.model = config_.model;
  t.version = config_.version;
  // The hub's assignment wins (docs/api.md, "Assignments"); with reason "none", or from a hub
  // without the endpoint, the configuration decides.
  std::string path = "/v1/devices/self/assignment";
  if (wait_s > 0 && !assignment_etag_.empty()) {
    path += "?wait=" + std::to_string(wait_s) + "&known=" + UrlEncode(assignment_etag_);
  }
  auto a = client_.Call("GET", path, "", "", wait_s > 0 ? wait_s + config_.http_timeout_s : 0);
  if (a.ok() && a->status == 304) {
    t.unchanged = true;
    return t;
  }
  if (a.ok() && a->status == 200) {
    auto j = fleet::ParseJson(a->body);
    auto as = j.ok() ? fleet::Assignment::FromJson(*j) : Result<fleet::Assignment>(j.status());
    if (!as.ok()) return IoError("assignment: " + as.status().message());
    assignment_etag_ = as->etag;
    if (as->poll_after_s > 0) poll_after_s_ = as->poll_after_s;
    if (as->reason != "none") {
      t.model = as->model;
      t.version = as->version;
      t.manifest = as->manifest;
      t.reason = as->reason;
    }
  } else if (!a.ok()) {
    return a.status();
  }
  if (t.version == "latest") {
    auto list = client_.GetJson("/v1/models/" + t.model + "/versions");
    if (!list.ok()) {
      if (list.status().code() == StatusCode::kOutOfRange) return Target{};
      return list.status();
    }
    if (!list->is_object()) return IoError("versions of " + t.model + ": not an object");
    const Json& vs = (*list)["versions"];
    if (!vs.is_array() || vs.empty() || !vs.back().contains("version") ||
        !vs.back()["version"].is_string()) {
      return Target{};
    }
    t.version = vs.back()["version"];
  }
  // Both end up in request paths: only plain names (the hub's own rule).
  if (!ValidName(t.model) || !ValidName(t.version)) {
    return InvalidArgument("target \"" + t.model + "\" \"" + t.version + "\" is not a plain name");
  }
  return t;
}

bool Agent::TryDelta(const std::string& sha256, uint64_t size, DownloadStats* stats) {
  auto active = holder_.Get();
  if (!config_.delta_updates || !active || active->info.sha256 == sha256 ||
      size > fleet::kMaxDeltaFileBytes) {
    return false;
  }
  // The hub answers 404 when a patch would not be smaller (or it has no delta support).
  auto r = client_.Call("GET", "/v1/blobs/" + sha256 + "/delta?from=" + active->info.sha256);
  if (!r.ok() || r->status != 200) return false;
  auto j = fleet::ParseJson(r->body);
  if (!j.ok() || !j->is_object()) return false;
  const std::string patch_sha = StringOr(*j, "sha256");
  const Json& psize = (*j)["size"];
  const Json& to_size = (*j)["to_size"];
  if (!fleet::IsSha256Hex(patch_sha) || !psize.is_number_unsigned() ||
      !to_size.is_number_unsigned() || to_size.get<uint64_t>() != size ||
      psize.get<uint64_t>() == 0 || psize.get<uint64_t>() >= size) {
    return false;
  }
  const uint64_t patch_size = psize.get<uint64_t>();
  const std::string dir = config_.state_dir + "/downloads";
  const std::string partial = dir + "/" + patch_sha + ".patch.partial";
  auto got = client_.Download("/v1/blobs/" + patch_sha, partial, patch_size, {});
  if (!got.ok()) return false;  // resumes next time; a full download happens now
  *stats = *got;
  // The patch, the base and the result are each checked; any failure falls back to the full
  // file, so a bad patch costs bandwidth, never correctness.
  auto patch = fleet::ReadFile(partial, fleet::kMaxDeltaFileBytes);
  ::unlink(partial.c_str());
  if (!patch.ok() || fleet::HexEncode(fleet::Sha256(*patch)) != patch_sha) return false;
  auto base = fleet::ReadFile(slots_.ModelPath(active->slot), fleet::kMaxDeltaFileBytes);
  if (!base.ok() || fleet::HexEncode(fleet::Sha256(*base)) != active->info.sha256) return false;
  auto out = fleet::ApplyDelta(*base, *patch, size);
  if (!out.ok()) {
    Log("delta for " + sha256 + " refused: " + out.status().message());
    return false;
  }
  if (fleet::HexEncode(fleet::Sha256(*out)) != sha256) {
    Log("delta for " + sha256 + " does not reproduce the file; fetching it whole");
    return false;
  }
  if (!fleet::WriteFileAtomic(dir + "/" + sha256, *out).ok()) return false;
  Log("delta: " + std::to_string(patch_size) + " bytes instead of " + std::to_string(size) +
      " for " + sha256);
  return true;
}

Result<std::string> Agent::Fetch(const std::string& sha256, uint64_t size, bool crash_points,
                                 DownloadStats* stats) {
  const std::string done = config_.state_dir + "/downloads/" + sha256;
  const std::string partial = done + ".partial";
  if (::access(done.c_str(), F_OK) != 0 && crash_points && TryDelta(sha256, size, stats)) {
    last_fetch_ = {{"sha256", sha256}, {"delta", true}, {"bytes", stats->fetched}};
  } else if (::access(done.c_str(), F_OK) != 0) {
    std::function<void(uint64_t)> on_chunk;
    if (crash_points) {
      on_chunk = [this, size](uint64_t on_disk) {
        if (on_disk >= size / 2 && on_disk < size) {
          crash_.Hit("download_mid");
        }
      };
    }
    TERN_ASSIGN_OR_RETURN(*stats, client_.Download("/v1/blobs/" + sha256, partial, size, on_chunk));
    if (::rename(partial.c_str(), done.c_str()) != 0) return IoError("rename " + partial);
    TERN_RETURN_IF_ERROR(fleet::FsyncDir(config_.state_dir + "/downloads"));
    last_fetch_ = {{"sha256", sha256}, {"delta", false}, {"bytes", stats->fetched}};
  }
  // Verified every time it is used, also when it was downloaded before a restart.
  uint64_t got = 0;
  TERN_ASSIGN_OR_RETURN(fleet::Sha256Digest digest, fleet::Sha256File(done, &got));
  if (got != size || fleet::HexEncode(digest) != sha256) {
    ::unlink(done.c_str());
    return Status(StatusCode::kFailedPrecondition, "blob " + sha256 + " failed verification (" +
                                                       std::to_string(got) + " bytes, sha256 " +
                                                       fleet::HexEncode(digest) + ")");
  }
  if (crash_points) crash_.Hit("download_done");
  return done;
}

Result<SyncOutcome> Agent::Install(const fleet::TargetsMetadata& m, const fleet::TargetVariant& v) {
  std::string why;
  if (!DownloadAllowed(config_.conditions, &why)) {
    Log("download of " + m.model + " " + m.model_version + " deferred: " + why);
    return SyncOutcome::kDeferred;
  }
  DownloadStats stats;
  auto model_file = Fetch(v.sha256, v.size, true, &stats);
  if (stats.resumed_from > 0) {
    last_resumed_from_ = stats.resumed_from;
    Event("download_resumed", m.model, m.model_version,
          "at byte " + std::to_string(stats.resumed_from));
  }
  std::string probe_file;
  if (model_file.ok() && !v.probe_sha256.empty()) {
    DownloadStats probe_stats;
    auto p = Fetch(v.probe_sha256, v.probe_size, false, &probe_stats);
    if (!p.ok())
      model_file = p.status();
    else
      probe_file = *p;
  }
  if (!model_file.ok()) {
    if (model_file.status().code() == StatusCode::kFailedPrecondition) {
      Event("refused", m.model, m.model_version, model_file.status().message());
      return SyncOutcome::kRefused;
    }
    return model_file.status();
  }
  SlotInfo info{m.model,  m.model_version, m.version,      v.name,
                v.sha256, v.size,          v.probe_sha256, v.probe_size};
  TERN_ASSIGN_OR_RETURN(std::optional<SlotPointer> current, slots_.ReadPointer());
  const std::string target = current ? SlotStore::Other(current->slot) : "a";
  TERN_RETURN_IF_ERROR(slots_.Stage(target, info, *model_file, probe_file));
  SlotPointer p{target, true, 1, current ? current->slot : ""};
  TERN_RETURN_IF_ERROR(slots_.WritePointer(p, "switch"));
  return Trial(p);
}

Result<SyncOutcome> Agent::SyncOnce() {
  TERN_RETURN_IF_ERROR(EnsureRegistered());
  TERN_RETURN_IF_ERROR(RefreshRoot());
  TERN_ASSIGN_OR_RETURN(Target target, ResolveTarget(0));
  if (target.model.empty()) return SyncOutcome::kNoTarget;
  const std::string& model = target.model;
  const std::string& version = target.version;
  Json envelope = target.manifest;
  if (envelope.is_null()) {
    TERN_ASSIGN_OR_RETURN(HttpReply r, client_.Call("GET", "/v1/models/" + model + "/versions/" +
                                                               version + "/manifest"));
    if (r.status == 404) return SyncOutcome::kNoTarget;
    if (r.status != 200) return IoError("manifest: HTTP " + std::to_string(r.status));
    TERN_ASSIGN_OR_RETURN(envelope, fleet::ParseJson(r.body));
  }
  auto active_now = holder_.Get();
  // Already running exactly this manifest: nothing to verify or fetch (a long-poll that timed
  // out, or the hub answering the same assignment again).
  if (active_now && active_now->info.model == model && active_now->info.model_version == version &&
      envelope.contains("signed") && envelope["signed"].is_object() &&
      envelope["signed"].contains("version") &&
      envelope["signed"]["version"] == active_now->info.manifest_version) {
    return SyncOutcome::kUpToDate;
  }
  // Nothing from the manifest is used before this check passes.
  auto manifest = trust_->VerifyTargets(envelope, Now());
  if (!manifest.ok()) {
    Event("refused", model, version, manifest.status().message());
    return SyncOutcome::kRefused;
  }
  TERN_RETURN_IF_ERROR(SaveTrust());
  if (manifest->model != model || manifest->model_version != version) {
    Event("refused", model, version,
          "the manifest is for " + manifest->model + " " + manifest->model_version);
    return SyncOutcome::kRefused;
  }
  auto variant = ChooseVariant(*manifest, DetectCapabilities(config_.state_dir, providers_));
  if (!variant.ok()) {
    Event("refused", model, version, variant.status().message());
    return SyncOutcome::kRefused;
  }
  auto active = holder_.Get();
  if (active && active->info.sha256 == variant->sha256 &&
      active->info.probe_sha256 == variant->probe_sha256 && active->info.model == model) {
    return SyncOutcome::kUpToDate;
  }
  SlotInfo candidate{model,           version,       manifest->version,     variant->name,
                     variant->sha256, variant->size, variant->probe_sha256, variant->probe_size};
  if (FailedBefore(candidate)) return SyncOutcome::kSkipped;
  return Install(*manifest, *variant);
}

void Agent::FlushTelemetry() {
  auto active = holder_.Get();
  Status st = telemetry_.Cut(Now(), active ? active->info.model : "",
                             active ? active->info.model_version : "");
  if (!st.ok()) Log("telemetry: " + st.ToString());
  auto sent = telemetry_.Send(client_, device_id_);
  if (!sent.ok()) Log("telemetry not sent: " + sent.status().ToString());
}

Result<SyncOutcome> Agent::SyncAndReport() {
  auto r = SyncOnce();
  if (r.ok()) {
    WriteStatus(SyncOutcomeName(*r), "");
  } else {
    Log("sync failed: " + r.status().ToString());
    WriteStatus("error", r.status().ToString());
  }
  return r;
}

void Agent::RunLoop() {
  std::mt19937_64 rng(std::random_device{}());
  auto last_flush = std::chrono::steady_clock::now();
  while (!stop_) {
    auto r = SyncAndReport();
    StartFl();  // once registered
    if (std::chrono::steady_clock::now() - last_flush >=
        std::chrono::seconds(config_.telemetry_interval_s)) {
      FlushTelemetry();
      last_flush = std::chrono::steady_clock::now();
      WriteStatus(r.ok() ? SyncOutcomeName(*r) : "error", r.ok() ? "" : r.status().ToString());
    }
    if (stop_) break;
    // With a hub that hands out assignments, wait on a long-poll: it answers as soon as the
    // assignment changes, or after `wait` with 304. Telemetry still goes out on its interval.
    const auto flush_due = last_flush + std::chrono::seconds(config_.telemetry_interval_s);
    const int64_t until_flush = std::chrono::duration_cast<std::chrono::seconds>(
                                    flush_due - std::chrono::steady_clock::now())
                                    .count();
    if (r.ok() && !assignment_etag_.empty() && config_.long_poll_s > 0 && until_flush >= 1) {
      const int wait_s = static_cast<int>(
          std::min<int64_t>({config_.long_poll_s, config_.poll_interval_s, until_flush}));
      const auto asked = std::chrono::steady_clock::now();
      auto changed = ResolveTarget(wait_s);
      // Changed, or held for the whole wait: sync again now (cheap when unchanged). A hub that
      // answers an unchanged assignment at once does not hold long-polls: poll plainly instead.
      const bool held =
          std::chrono::steady_clock::now() - asked >= std::chrono::seconds(wait_s) / 2;
      if (changed.ok() && (!changed->unchanged || held)) continue;
    }
    // Plain polling: the hub's hint or the configured interval, plus up to 20% jitter so a
    // fleet restarted together does not poll together.
    const int64_t base_ms =
        int64_t{poll_after_s_ > 0 ? std::min<int64_t>(poll_after_s_, config_.poll_interval_s)
                                  : config_.poll_interval_s} *
        1000;
    const int64_t wait_ms = base_ms + std::uniform_int_distribution<int64_t>(0, base_ms / 5)(rng);
    std::unique_lock<std::mutex> lock(wait_mu_);
    wait_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stop_.load(); });
  }
}

void Agent::Stop() {
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
    stop_ = true;
  }
  wait_cv_.notify_all();
}

}  // namespace tern::agent
