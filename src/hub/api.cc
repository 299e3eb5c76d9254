#include "hub/api.h"

#include <chrono>
#include <ctime>
#include <map>
#include <regex>
#include <set>

#include "fleet/canonical_json.h"
#include "fleet/crypto.h"
#include "fleet/delta.h"
#include "fleet/file_util.h"
#include "hub/http_util.h"
#include "hub/publish.h"

namespace tern::hub {
namespace {

using fleet::Json;

enum class RouteId {
  kHealth, kRoot, kRootN, kPostBlob, kGetBlob, kListModels, kPostVersion, kListVersions,
  kGetVersion, kGetManifest, kRegister, kListDevices, kGetDevice, kPatchDevice, kAssignment,
  kTelemetry, kPostRollout, kListRollouts, kGetRollout, kRolloutCommand, kMetrics, kGetDelta,
  kFlCheckIn, kFlCreateTask, kFlListTasks, kFlGetTask, kFlDeviceGet, kFlDevicePost
};
enum class Access { kPublic, kAny, kAdmin, kEnroll, kDevice };

// Route names for metrics labels.
const char* RouteName(RouteId id) {
  switch (id) {
    case RouteId::kHealth: return "health";
    case RouteId::kRoot: return "root";
    case RouteId::kRootN: return "root_n";
    case RouteId::kGetDelta: return "get_delta";
    case RouteId::kPostBlob: return "post_blob";
    case RouteId::kGetBlob: return "get_blob";
    case RouteId::kListModels: return "list_models";
    case RouteId::kPostVersion: return "post_version";
    case RouteId::kListVersions: return "list_versions";
    case RouteId::kGetVersion: return "get_version";
    case RouteId::kGetManifest: return "get_manifest";
    case RouteId::kRegister: return "register";
    case RouteId::kListDevices: return "list_devices";
    case RouteId::kGetDevice: return "get_device";
    case RouteId::kPatchDevice: return "patch_device";
    case RouteId::kAssignment: return "assignment";
    case RouteId::kTelemetry: return "telemetry";
    case RouteId::kPostRollout: return "post_rollout";
    case RouteId::kListRollouts: return "list_rollouts";
    case RouteId::kGetRollout: return "get_rollout";
    case RouteId::kRolloutCommand: return "rollout_command";
    case RouteId::kMetrics: return "metrics";
    case RouteId::kFlCheckIn: return "fl_checkin";
    case RouteId::kFlCreateTask: return "fl_create_task";
    case RouteId::kFlListTasks: return "fl_list_tasks";
    case RouteId::kFlGetTask: return "fl_get_task";
    case RouteId::kFlDeviceGet: return "fl_device_get";
    case RouteId::kFlDevicePost: return "fl_device_post";
  }
  return "unknown";
}

constexpr const char* kAdminPrefix = "tern_adm_";
constexpr const char* kEnrollPrefix = "tern_enr_";
constexpr const char* kDevicePrefix = "tern_dev_";

// Names of models, versions and variants: safe in paths, URLs and file names.
bool ValidName(const std::string& s) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._+-]{0,127}");
  return std::regex_match(s, re);
}
// Precision, provider and CPU feature tokens.
bool ValidToken(const std::string& s) {
  static const std::regex re("[a-z0-9][a-z0-9_.-]{0,63}");
  return std::regex_match(s, re);
}

HttpResponse NotFound(const std::string& what) { return ErrorResponse(404, what + " not found"); }
HttpResponse StoreError(const Status& st) { return ErrorResponse(500, "store: " + st.message()); }

Result<std::vector<std::string>> TokenList(const Json& obj, const char* key, size_t max_items) {
  std::vector<std::string> out;
  if (!obj.contains(key)) return out;
  const Json& arr = obj[key];
  if (!arr.is_array() || arr.size() > max_items) {
    return InvalidArgument(std::string("\"") + key + "\" must be an array of at most " +
                           std::to_string(max_items) + " strings");
  }
  std::set<std::string> seen;
  for (const auto& e : arr) {
    if (!e.is_string() || !ValidToken(e.get<std::string>())) {
      return InvalidArgument(std::string("\"") + key + "\" holds an invalid name");
    }
    if (seen.insert(e.get<std::string>()).second) out.push_back(e.get<std::string>());
  }
  return out;
}

Result<uint64_t> OptionalCount(const Json& obj, const char* key) {
  if (!obj.contains(key)) return uint64_t{0};
  const Json& v = obj[key];
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    return InvalidArgument(std::string("\"") + key + "\" must be a non-negative integer");
  }
  return v.get<uint64_t>();
}

Json VersionJson(const ModelVersionRecord& v, bool with_manifest) {
  Json vars = Json::array();
  for (const auto& var : v.variants) {
    vars.push_back({{"name", var.name},
                    {"precision", var.precision},
                    {"provider", var.provider},
                    {"cpu_features", var.cpu_features},
                    {"sha256", var.blob_sha256},
                    {"size", var.size},
                    {"url", "/v1/blobs/" + var.blob_sha256}});
  }
  Json j = {{"model", v.model},
            {"version", v.version},
            {"variants", vars},
            {"metadata", Json::parse(v.metadata_json, nullptr, false)},
            {"manifest_version", v.manifest_version},
            {"created_at", fleet::FormatTime(v.created_at)}};
  if (with_manifest) j["manifest"] = Json::parse(v.manifest_json, nullptr, false);
  return j;
}

Json DeviceJson(const DeviceRecord& d) {
  Json active = nullptr;
  if (!d.active_model.empty()) {
    active = {{"model", d.active_model},
              {"version", d.active_version},
              {"reported_at", fleet::FormatTime(d.active_at)}};
  }
  return {{"id", d.id},
          {"name", d.name},
          {"group", d.group},
          {"capabilities", Json::parse(d.capabilities_json, nullptr, false)},
          {"active", active},
          {"created_at", fleet::FormatTime(d.created_at)},
          {"last_seen", fleet::FormatTime(d.last_seen)}};
}

}  // namespace

struct HubApi::Route {
  RouteId id;
  const char* method;
  Access access;
  bool file_body;  ///< the body streams to a temporary file (uploads)
};

HubApi::HubApi(Store* store, BlobStore* blobs, const HubKeys* keys, FleetServices fleet,
               ApiOptions options)
    : store_(store), blobs_(blobs), keys_(keys), fleet_(fleet), options_(std::move(options)) {}

std::string HubApi::NewAdminToken() { return fleet::RandomToken(kAdminPrefix); }
std::string HubApi::NewEnrollToken() { return fleet::RandomToken(kEnrollPrefix); }
std::string HubApi::TokenHash(const std::string& token) {
  return fleet::HexEncode(fleet::Sha256(token));
}

int64_t HubApi::Now() const {
  return options_.clock ? options_.clock() : static_cast<int64_t>(std::time(nullptr));
}

const HubApi::Route* HubApi::Match(const HttpRequest& r, bool* path_known) const {
  static const Route kRoutes[] = {
      {RouteId::kHealth, "GET", Access::kPublic, false},
      {RouteId::kHealth, "HEAD", Access::kPublic, false},
      {RouteId::kRoot, "GET", Access::kAny, false},
      {RouteId::kRootN, "GET", Access::kAny, false},
      {RouteId::kPostBlob, "POST", Access::kAdmin, true},
      {RouteId::kGetBlob, "GET", Access::kAny, false},
      {RouteId::kGetBlob, "HEAD", Access::kAny, false},
      {RouteId::kGetDelta, "GET", Access::kAny, false},
      {RouteId::kListModels, "GET", Access::kAny, false},
      {RouteId::kPostVersion, "POST", Access::kAdmin, false},
      {RouteId::kListVersions, "GET", Access::kAny, false},
      {RouteId::kGetVersion, "GET", Access::kAny, false},
      {RouteId::kGetManifest, "GET", Access::kAny, false},
      {RouteId::kRegister, "POST", Access::kEnroll, false},
      {RouteId::kListDevices, "GET", Access::kAdmin, false},
      {RouteId::kGetDevice, "GET", Access::kAny, false},
      {RouteId::kPatchDevice, "PATCH", Access::kAdmin, false},
      {RouteId::kAssignment, "GET", Access::kDevice, false},
      {RouteId::kTelemetry, "POST", Access::kDevice, false},
      {RouteId::kPostRollout, "POST", Access::kAdmin, false},
      {RouteId::kListRollouts, "GET", Access::kAdmin, false},
      {RouteId::kGetRollout, "GET", Access::kAdmin, false},
      {RouteId::kRolloutCommand, "POST", Access::kAdmin, false},
      {RouteId::kMetrics, "GET", Access::kAdmin, false},
      {RouteId::kFlCheckIn, "POST", Access::kDevice, false},
      {RouteId::kFlCreateTask, "POST", Access::kAdmin, false},
      {RouteId::kFlListTasks, "GET", Access::kAdmin, false},
      {RouteId::kFlGetTask, "GET", Access::kAdmin, false},
      {RouteId::kFlDeviceGet, "GET", Access::kDevice, false},
      {RouteId::kFlDevicePost, "POST", Access::kDevice, false},
  };
  const auto& p = r.path;
  std::set<RouteId> ids;
  if (p.size() >= 2 && p[0] == "v1") {
    const std::string& s1 = p[1];
    if (p.size() == 2 && s1 == "health") ids = {RouteId::kHealth};
    if (p.size() == 2 && s1 == "root.json") ids = {RouteId::kRoot};
    if (p.size() == 3 && s1 == "root") ids = {RouteId::kRootN};
    if (p.size() == 2 && s1 == "blobs") ids = {RouteId::kPostBlob};
    if (p.size() == 3 && s1 == "blobs") ids = {RouteId::kGetBlob};
    if (p.size() == 4 && s1 == "blobs" && p[3] == "delta") ids = {RouteId::kGetDelta};
    if (p.size() == 2 && s1 == "models") ids = {RouteId::kListModels};
    if (p.size() == 4 && s1 == "models" && p[3] == "versions") {
      ids = {RouteId::kListVersions, RouteId::kPostVersion};
    }
    if (p.size() == 5 && s1 == "models" && p[3] == "versions") ids = {RouteId::kGetVersion};
    if (p.size() == 6 && s1 == "models" && p[3] == "versions" && p[5] == "manifest") {
      ids = {RouteId::kGetManifest};
    }
    if (p.size() == 2 && s1 == "devices") ids = {RouteId::kListDevices};
    if (p.size() == 3 && s1 == "devices") {
      ids = p[2] == "register" ? std::set<RouteId>{RouteId::kRegister}
                               : std::set<RouteId>{RouteId::kGetDevice, RouteId::kPatchDevice};
    }
    if (p.size() == 4 && s1 == "devices" && p[2] == "self" && p[3] == "assignment") {
      ids = {RouteId::kAssignment};
    }
    if (p.size() == 2 && s1 == "telemetry") ids = {RouteId::kTelemetry};
    if (p.size() == 2 && s1 == "rollouts") ids = {RouteId::kPostRollout, RouteId::kListRollouts};
    if (p.size() == 3 && s1 == "rollouts") ids = {RouteId::kGetRollout};
    if (p.size() == 4 && s1 == "rollouts") ids = {RouteId::kRolloutCommand};
    if (p.size() == 3 && s1 == "fl" && p[2] == "checkin") ids = {RouteId::kFlCheckIn};
    if (p.size() == 3 && s1 == "fl" && p[2] == "tasks")
      ids = {RouteId::kFlCreateTask, RouteId::kFlListTasks};
    if (p.size() == 4 && s1 == "fl" && p[2] == "tasks") ids = {RouteId::kFlGetTask};
    if (p.size() == 5 && s1 == "fl" && p[2] == "tasks")
      ids = {RouteId::kFlDeviceGet, RouteId::kFlDevicePost};
  }
  if (p.size() == 1 && p[0] == "metrics") ids = {RouteId::kMetrics};
  *path_known = !ids.empty();
  for (const auto& route : kRoutes) {
    if (ids.count(route.id) && r.method == route.method) return &route;
  }
  return nullptr;
}

Result<HubApi::Principal> HubApi::Authenticate(const HttpRequest& r) {
  const std::string& auth = r.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || auth.compare(0, kBearer.size(), kBearer) != 0 ||
      auth.size() > 256) {
    return Principal{};
  }
  std::string token = auth.substr(kBearer.size());
  std::string hash = TokenHash(token);
  if (token.rfind(kDevicePrefix, 0) == 0) {
    TERN_ASSIGN_OR_RETURN(auto dev, store_->FindDeviceByToken(hash));
    if (!dev) return Principal{};
    int64_t now = Now();
    if (now - dev->last_seen >= 60) (void)store_->TouchDevice(dev->id, now);  // coarse on purpose
    return Principal{Principal::Kind::kDevice, dev->id};
  }
  TERN_ASSIGN_OR_RETURN(auto key, store_->FindApiKey(hash));
  if (!key) return Principal{};
  if (key->role == "admin") return Principal{Principal::Kind::kAdmin, key->name};
  if (key->role == "enroll") return Principal{Principal::Kind::kEnroll, key->name};
  return Principal{};
}

std::optional<HttpResponse> HubApi::Admit(const HttpRequest& r, BodyPlan* plan) {
  bool path_known = false;
  const Route* route = Match(r, &path_known);
  if (route && route->access == Access::kPublic) {
    plan->limit = 0;
    return std::nullopt;
  }
  auto who = Authenticate(r);
  if (!who.ok()) return StoreError(who.status());
  if (who->kind == Principal::Kind::kNone) {
    HttpResponse res = ErrorResponse(401, "missing or invalid bearer token");
    res.SetHeader("WWW-Authenticate", "Bearer realm=\"tern-hub\"");
    return res;
  }
  if (!path_known) return ErrorResponse(404, "no such endpoint");
  if (!route) return ErrorResponse(405, "method not allowed");
  bool allowed = false;
  switch (route->access) {
    case Access::kPublic: allowed = true; break;
    case Access::kAny: allowed = who->kind != Principal::Kind::kEnroll; break;
    case Access::kAdmin: allowed = who->kind == Principal::Kind::kAdmin; break;
    case Access::kDevice: allowed = who->kind == Principal::Kind::kDevice; break;
    case Access::kEnroll:
      allowed = who->kind == Principal::Kind::kAdmin || who->kind == Principal::Kind::kEnroll;
      break;
  }
  if (!allowed) return ErrorResponse(403, "this credential may not call this endpoint");
  if (route->file_body) {
    plan->kind = BodyPlan::Kind::kFile;
    plan->limit = options_.max_blob_bytes;
    plan->file_path = blobs_->NewTempPath();
  } else {
    plan->kind = BodyPlan::Kind::kMemory;
    const bool json_body = r.method == "POST" || r.method == "PATCH";
    plan->limit = json_body ? options_.max_json_body : 0;
    if (json_body) {
      const std::string& type = r.Header("content-type");
      if (!type.empty() && type.rfind("application/json", 0) != 0) {
        return ErrorResponse(415, "expected Content-Type: application/json");
      }
    }
  }
  return std::nullopt;
}

HttpResponse HubApi::Handle(HttpRequest& r) {
  auto res = HandleAsync(r, nullptr);
  return res ? std::move(*res) : ErrorResponse(500, "a request parked without a responder");
}

void HubApi::Stopping() {
  if (fleet_.long_poll) fleet_.long_poll->Shutdown();
}

std::optional<HttpResponse> HubApi::HandleAsync(HttpRequest& r, Responder respond) {
  const auto start = std::chrono::steady_clock::now();
  bool path_known = false;
  const Route* route = Match(r, &path_known);
  if (!route) return ErrorResponse(404, "no such endpoint");
  auto record = [metrics = fleet_.metrics, start, name = std::string(RouteName(route->id))](
                    const HttpResponse& res) {
    if (!metrics) return;
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    metrics->Record(name, res.status, took.count());
  };
  Principal who;
  if (route->access != Access::kPublic) {
    auto p = Authenticate(r);  // again: Admit's answer is not carried over
    if (!p.ok()) return StoreError(p.status());
    who = *p;
    if (who.kind == Principal::Kind::kNone) return ErrorResponse(401, "invalid bearer token");
  }
  if (route->id == RouteId::kAssignment) {
    Responder recorded;
    if (respond) {
      recorded = [record, respond = std::move(respond)](HttpResponse res) {
        record(res);
        respond(std::move(res));
      };
    }
    auto res = GetAssignment(r, who, std::move(recorded));
    if (res) record(*res);
    return res;
  }
  HttpResponse res = Dispatch(r, static_cast<int>(route->id), who);
  record(res);
  return res;
}

HttpResponse HubApi::Dispatch(HttpRequest& r, int route_id, const Principal& who) {
  switch (static_cast<RouteId>(route_id)) {
    case RouteId::kHealth: return Health(r);
    case RouteId::kRoot:
    case RouteId::kRootN: return GetRoot(r);
    case RouteId::kPostBlob: return PostBlob(r);
    case RouteId::kGetBlob: return GetBlob(r);
    case RouteId::kGetDelta: return GetDelta(r);
    case RouteId::kListModels: return ListModels(r);
    case RouteId::kPostVersion: return PostVersion(r);
    case RouteId::kListVersions: return ListVersions(r);
    case RouteId::kGetVersion: return GetVersion(r);
    case RouteId::kGetManifest: return GetManifest(r);
    case RouteId::kRegister: return RegisterDevice(r);
    case RouteId::kListDevices: return ListDevices(r);
    case RouteId::kGetDevice: return GetDevice(r, who);
    case RouteId::kPatchDevice: return PatchDevice(r);
    case RouteId::kAssignment: return ErrorResponse(500, "assignment is not dispatched here");
    case RouteId::kTelemetry: return PostTelemetry(r, who);
    case RouteId::kPostRollout: return PostRollout(r);
    case RouteId::kListRollouts: return ListRollouts(r);
    case RouteId::kGetRollout: return GetRollout(r);
    case RouteId::kRolloutCommand: return RolloutCommand(r);
    case RouteId::kMetrics: return Metrics(r);
    case RouteId::kFlCheckIn:
    case RouteId::kFlCreateTask:
    case RouteId::kFlListTasks:
    case RouteId::kFlGetTask:
    case RouteId::kFlDeviceGet:
    case RouteId::kFlDevicePost: return Fl(r, who);
  }
  return ErrorResponse(500, "unrouted endpoint");
}

HttpResponse HubApi::Health(const HttpRequest& r) {
  auto schema = store_->SchemaVersion();
  if (!schema.ok()) return ErrorResponse(503, "store unavailable: " + schema.status().message());
  HttpResponse res = JsonResponse(
      200,
      {{"status", "ok"}, {"schema_version", *schema}, {"root_version", keys_->root_version()}});
  res.omit_body = r.method == "HEAD";
  res.SetHeader("Cache-Control", "no-store");
  return res;
}

HttpResponse HubApi::GetRoot(const HttpRequest& r) {
  if (r.path.size() == 2) return JsonResponse(200, keys_->root_envelope());
  const std::string& file = r.path[2];
  static const std::regex re("([1-9][0-9]{0,11})\\.json");
  std::smatch m;
  if (!std::regex_match(file, m, re)) return ErrorResponse(400, "expected /v1/root/N.json");
  int64_t n = std::stoll(m[1].str());
  if (n > keys_->root_version()) return NotFound("root version " + m[1].str());
  auto env = keys_->RootVersion(n);
  if (!env.ok()) return ErrorResponse(500, env.status().message());
  return JsonResponse(200, *env);
}

HttpResponse HubApi::PostBlob(HttpRequest& r) {
  if (r.body_file.empty()) return ErrorResponse(400, "empty upload");
  std::string expected = r.Header("x-tern-sha256");
  if (!expected.empty() && !fleet::IsSha256Hex(expected)) {
    return ErrorResponse(400, "X-Tern-Sha256 must be 64 lowercase hex digits");
  }
  uint64_t size = 0;
  auto hash = blobs_->Commit(r.body_file, expected, &size);
  if (!hash.ok()) {
    int code = hash.status().code() == StatusCode::kInvalidArgument ? 400 : 500;
    return ErrorResponse(code, hash.status().message());
  }
  auto existing = store_->FindBlob(*hash);
  if (!existing.ok()) return StoreError(existing.status());
  if (!*existing) {
    Status st = store_->PutBlob(*hash, size, Now());
    if (!st.ok()) return StoreError(st);
  }
  HttpResponse res = JsonResponse(*existing ? 200 : 201, {{"sha256", *hash}, {"size", size}});
  res.SetHeader("Location", "/v1/blobs/" + *hash);
  return res;
}

HttpResponse HubApi::GetDelta(const HttpRequest& r) {
  const std::string& target = r.path[2];
  auto from_it = r.query.find("from");
  const std::string base = from_it == r.query.end() ? "" : from_it->second;
  if (!fleet::IsSha256Hex(target) || !fleet::IsSha256Hex(base))
    return ErrorResponse(400, "blob names are 64 lowercase hex digits (?from=BASE)");
  if (base == target) return ErrorResponse(400, "a blob needs no delta to itself");
  for (const std::string* h : {&base, &target}) {
    auto rec = store_->FindBlob(*h);
    if (!rec.ok()) return StoreError(rec.status());
    if (!*rec) return NotFound("blob");
    if ((*rec)->size > fleet::kMaxDeltaFileBytes)
      return ErrorResponse(404, "no delta: the files are too large; fetch the blob whole");
  }
  // Patches are made once per pair, one at a time (they cost CPU), and kept as ordinary blobs;
  // DATA/deltas/BASE-TARGET remembers which blob (or "none" when a patch would not be smaller).
  const std::string marker = blobs_->DeltaMarkerPath(base, target);
  std::lock_guard<std::mutex> lock(delta_mu_);
  auto known = fleet::ReadFile(marker, 256);
  std::string patch_sha = known.ok() ? *known : "";
  uint64_t patch_size = 0, target_size = 0;
  if (patch_sha.empty()) {
    auto base_bytes = fleet::ReadFile(blobs_->PathOf(base), fleet::kMaxDeltaFileBytes);
    auto target_bytes = fleet::ReadFile(blobs_->PathOf(target), fleet::kMaxDeltaFileBytes);
    if (!base_bytes.ok() || !target_bytes.ok()) return ErrorResponse(500, "cannot read the blobs");
    auto patch = fleet::MakeDelta(*base_bytes, *target_bytes);
    if (!patch.ok()) return ErrorResponse(500, patch.status().message());
    if (patch->size() * 10 >= target_bytes->size() * 9) {
      patch_sha = "none";
    } else {
      const std::string tmp = blobs_->NewTempPath();
      Status st = fleet::WriteFileAtomic(tmp, *patch);
      if (!st.ok()) return ErrorResponse(500, st.message());
      auto hash = blobs_->Commit(tmp, "", &patch_size);
      if (!hash.ok()) return ErrorResponse(500, hash.status().message());
      st = store_->PutBlob(*hash, patch_size, Now());
      if (!st.ok()) return StoreError(st);
      patch_sha = *hash;
    }
    Status st = fleet::WriteFileAtomic(marker, patch_sha);
    if (!st.ok()) return ErrorResponse(500, st.message());
  }
  if (patch_sha == "none") return ErrorResponse(404, "no delta: a patch would not be smaller");
  auto rec = store_->FindBlob(patch_sha);
  if (!rec.ok()) return StoreError(rec.status());
  if (!*rec) return ErrorResponse(500, "the delta blob is missing");
  patch_size = (*rec)->size;
  auto trec = store_->FindBlob(target);
  if (!trec.ok() || !*trec) return ErrorResponse(500, "the target blob vanished");
  target_size = (**trec).size;
  return JsonResponse(200, {{"sha256", patch_sha},
                            {"size", patch_size},
                            {"from", base},
                            {"to", target},
                            {"to_size", target_size},
                            {"url", "/v1/blobs/" + patch_sha},
                            {"format", "zstd-patch-from"}});
}

HttpResponse HubApi::GetBlob(const HttpRequest& r) {
  const std::string& hash = r.path[2];
  if (!fleet::IsSha256Hex(hash)) return ErrorResponse(400, "blob names are 64 lowercase hex digits");
  auto rec = store_->FindBlob(hash);
  if (!rec.ok()) return StoreError(rec.status());
  if (!*rec) return NotFound("blob");
  uint64_t size = 0;
  auto file = blobs_->Open(hash, &size);
  if (!file.ok()) return ErrorResponse(500, file.status().message());

  const std::string etag = "\"" + hash + "\"";
  auto common = [&](HttpResponse& res) {
    res.SetHeader("ETag", etag);
    res.SetHeader("Accept-Ranges", "bytes");
    // Content-addressed, so it never changes; "private" because blobs need auth.
    res.SetHeader("Cache-Control", "private, max-age=31536000, immutable");
  };
  if (IfNoneMatchMatches(r.Header("if-none-match"), etag)) {
    HttpResponse res;
    res.status = 304;
    common(res);
    return res;
  }
  HttpResponse res;
  common(res);
  res.SetHeader("Content-Type", "application/octet-stream");
  res.omit_body = r.method == "HEAD";
  ByteRange range;
  RangeKind kind = EvaluateRange(r.Header("range"), size, &range);
  // If-Range: serve the range only when the validator still matches (it always does for a
  // content-addressed blob unless the client holds another blob's tag).
  const std::string& if_range = r.Header("if-range");
  if (kind != RangeKind::kNone && !if_range.empty() && if_range != etag) kind = RangeKind::kNone;
  if (kind == RangeKind::kUnsatisfiable) {
    HttpResponse bad = ErrorResponse(416, "range not satisfiable");
    bad.SetHeader("Content-Range", "bytes */" + std::to_string(size));
    return bad;
  }
  if (kind == RangeKind::kSatisfiable) {
    res.status = 206;
    res.SetHeader("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                       std::to_string(range.first + range.length - 1) + "/" +
                                       std::to_string(size));
    res.file = FileSlice{*file, range.first, range.length};
  } else {
    res.file = FileSlice{*file, 0, size};
  }
  return res;
}

HttpResponse HubApi::ListModels(const HttpRequest&) {
  auto models = store_->ListModels();
  if (!models.ok()) return StoreError(models.status());
  return JsonResponse(200, {{"models", *models}});
}

HttpResponse HubApi::PostVersion(const HttpRequest& r) {
  const std::string& model = r.path[2];
  if (!ValidName(model)) return ErrorResponse(400, "invalid model name");
  auto parsed = fleet::ParseJson(r.body, 32);
  if (!parsed.ok()) return ErrorResponse(400, parsed.status().message());
  const Json& body = *parsed;
  if (!body.is_object()) return ErrorResponse(400, "expected a JSON object");
  if (!body.contains("version") || !body["version"].is_string() ||
      !ValidName(body["version"].get<std::string>())) {
    return ErrorResponse(400, "\"version\" must be a name like 1.2.0");
  }
  if (body.contains("metadata") && !body["metadata"].is_object()) {
    return ErrorResponse(400, "\"metadata\" must be an object");
  }
  if (!body.contains("variants") || !body["variants"].is_array() || body["variants"].empty() ||
      body["variants"].size() > 64) {
    return ErrorResponse(400, "\"variants\" must be an array of 1 to 64 variants");
  }
  ModelVersionRecord rec;
  rec.model = model;
  rec.version = body["version"].get<std::string>();
  rec.metadata_json = body.value("metadata", Json::object()).dump();
  rec.created_at = Now();
  std::set<std::string> names;
  VariantProbes probes;  // variant → (sha256, size)
  for (const auto& jv : body["variants"]) {
    if (!jv.is_object()) return ErrorResponse(400, "a variant must be an object");
    VariantRecord v;
    auto str = [&](const char* key, bool token, std::string* out) -> bool {
      if (!jv.contains(key) || !jv[key].is_string()) return false;
      *out = jv[key].get<std::string>();
      return token ? ValidToken(*out) : ValidName(*out);
    };
    if (!str("name", false, &v.name)) return ErrorResponse(400, "variant \"name\" is invalid");
    if (!names.insert(v.name).second) return ErrorResponse(400, "variant " + v.name + " repeats");
    if (!str("precision", true, &v.precision)) {
      return ErrorResponse(400, "variant " + v.name + ": \"precision\" is invalid");
    }
    if (!jv.contains("provider")) {
      v.provider = "ref";
    } else if (!str("provider", true, &v.provider)) {
      return ErrorResponse(400, "variant " + v.name + ": \"provider\" is invalid");
    }
    auto features = TokenList(jv, "cpu_features", 32);
    if (!features.ok()) return ErrorResponse(400, "variant " + v.name + ": " + features.status().message());
    v.cpu_features = *features;
    if (!jv.contains("sha256") || !jv["sha256"].is_string() ||
        !fleet::IsSha256Hex(jv["sha256"].get<std::string>())) {
      return ErrorResponse(400, "variant " + v.name + ": \"sha256\" must name an uploaded blob");
    }
    v.blob_sha256 = jv["sha256"].get<std::string>();
    auto blob = store_->FindBlob(v.blob_sha256);
    if (!blob.ok()) return StoreError(blob.status());
    if (!*blob) return ErrorResponse(400, "variant " + v.name + ": blob " + v.blob_sha256 +
                                              " was not uploaded (POST /v1/blobs first)");
    v.size = (*blob)->size;
    // The probe lives only in the signed manifest (no store column): agents read it from there.
    if (jv.contains("probe_sha256")) {
      if (!jv["probe_sha256"].is_string() ||
          !fleet::IsSha256Hex(jv["probe_sha256"].get<std::string>())) {
        return ErrorResponse(400,
                             "variant " + v.name + ": \"probe_sha256\" must name an uploaded blob");
      }
      const std::string probe_sha = jv["probe_sha256"].get<std::string>();
      auto probe = store_->FindBlob(probe_sha);
      if (!probe.ok()) return StoreError(probe.status());
      if (!*probe)
        return ErrorResponse(
            400, "variant " + v.name + ": probe blob " + probe_sha + " was not uploaded");
      probes[v.name] = {probe_sha, (*probe)->size};
    }
    rec.variants.push_back(std::move(v));
  }

  const int64_t expires = rec.created_at + options_.manifest_ttl_s;
  auto stored = InsertSignedVersion(store_, *keys_, rec, probes, expires);
  if (!stored.ok()) return StoreError(stored.status());
  if (!*stored) return ErrorResponse(409, "version " + rec.version + " of " + model + " exists");
  HttpResponse res = JsonResponse(201, VersionJson(**stored, true));
  res.SetHeader("Location", "/v1/models/" + model + "/versions/" + rec.version);
  return res;
}

HttpResponse HubApi::ListVersions(const HttpRequest& r) {
  auto versions = store_->ListVersions(r.path[2]);
  if (!versions.ok()) return StoreError(versions.status());
  if (versions->empty()) return NotFound("model " + r.path[2]);
  Json out = Json::array();
  for (const auto& v : *versions) out.push_back(VersionJson(v, false));
  return JsonResponse(200, {{"model", r.path[2]}, {"versions", out}});
}

HttpResponse HubApi::GetVersion(const HttpRequest& r) {
  auto v = store_->FindVersion(r.path[2], r.path[4]);
  if (!v.ok()) return StoreError(v.status());
  if (!*v) return NotFound("version");
  return JsonResponse(200, VersionJson(**v, true));
}

HttpResponse HubApi::GetManifest(const HttpRequest& r) {
  auto v = store_->FindVersion(r.path[2], r.path[4]);
  if (!v.ok()) return StoreError(v.status());
  if (!*v) return NotFound("version");
  HttpResponse res;
  res.body = (*v)->manifest_json + "\n";
  res.SetHeader("Content-Type", "application/json");
  res.SetHeader("Cache-Control", "no-cache");
  return res;
}

HttpResponse HubApi::RegisterDevice(const HttpRequest& r) {
  auto parsed = fleet::ParseJson(r.body, 16);
  if (!parsed.ok()) return ErrorResponse(400, parsed.status().message());
  const Json& body = *parsed;
  if (!body.is_object()) return ErrorResponse(400, "expected a JSON object");
  DeviceRecord d;
  if (body.contains("group")) {
    if (!body["group"].is_string() || !ValidName(body["group"].get<std::string>())) {
      return ErrorResponse(400, "\"group\" is invalid");
    }
    d.group = body["group"].get<std::string>();
  }
  if (body.contains("name")) {
    if (!body["name"].is_string() || !ValidName(body["name"].get<std::string>())) {
      return ErrorResponse(400, "\"name\" is invalid");
    }
    d.name = body["name"].get<std::string>();
  }
  if (!body.contains("capabilities") || !body["capabilities"].is_object()) {
    return ErrorResponse(400, "\"capabilities\" must be an object");
  }
  const Json& caps = body["capabilities"];
  auto cpu = TokenList(caps, "cpu_features", 128);
  auto providers = TokenList(caps, "providers", 32);
  auto memory = OptionalCount(caps, "memory_bytes");
  auto storage = OptionalCount(caps, "free_storage_bytes");
  for (const Status* st : {&cpu.status(), &providers.status(), &memory.status(), &storage.status()}) {
    if (!st->ok()) return ErrorResponse(400, "capabilities: " + st->message());
  }
  Json normalized = {{"cpu_features", *cpu},
                     {"providers", *providers},
                     {"memory_bytes", *memory},
                     {"free_storage_bytes", *storage}};
  for (const char* key : {"os", "arch"}) {
    if (!caps.contains(key)) continue;
    if (!caps[key].is_string() || !ValidToken(caps[key].get<std::string>())) {
      return ErrorResponse(400, std::string("capabilities: \"") + key + "\" is invalid");
    }
    normalized[key] = caps[key];
  }
  d.id = "dev_" + fleet::RandomToken("").substr(0, 24);
  if (d.name.empty()) d.name = d.id;
  d.capabilities_json = normalized.dump();
  d.created_at = d.last_seen = Now();
  const std::string token = fleet::RandomToken(kDevicePrefix);
  Status st = store_->InsertDevice(d, TokenHash(token));
  if (!st.ok()) return StoreError(st);
  Json out = DeviceJson(d);
  out["token"] = token;
  HttpResponse res = JsonResponse(201, out);
  res.SetHeader("Location", "/v1/devices/" + d.id);
  res.SetHeader("Cache-Control", "no-store");
  return res;
}

HttpResponse HubApi::ListDevices(const HttpRequest&) {
  auto devices = store_->ListDevices();
  if (!devices.ok()) return StoreError(devices.status());
  Json out = Json::array();
  for (const auto& d : *devices) out.push_back(DeviceJson(d));
  return JsonResponse(200, {{"devices", out}});
}

HttpResponse HubApi::GetDevice(const HttpRequest& r, const Principal& who) {
  std::string id = r.path[2];
  if (who.kind == Principal::Kind::kDevice) {
    if (id == "self") id = who.id;
    if (id != who.id) return ErrorResponse(403, "a device may only read itself");
  }
  auto d = store_->FindDevice(id);
  if (!d.ok()) return StoreError(d.status());
  if (!*d) return NotFound("device");
  return JsonResponse(200, DeviceJson(**d));
}

}  // namespace tern::hub

namespace tern::hub {

HttpResponse HubApi::PatchDevice(const HttpRequest& r) {
  auto parsed = fleet::ParseJson(r.body, 8);
  if (!parsed.ok()) return ErrorResponse(400, parsed.status().message());
  const Json& body = *parsed;
  if (!body.is_object() || !body.contains("group") || !body["group"].is_string() ||
      !ValidName(body["group"].get<std::string>())) {
    return ErrorResponse(400, "expected {\"group\": NAME}");
  }
  auto found = store_->SetDeviceGroup(r.path[2], body["group"].get<std::string>());
  if (!found.ok()) return StoreError(found.status());
  if (!*found) return NotFound("device");
  if (fleet_.long_poll) fleet_.long_poll->Notify();  // its assignment may have changed
  auto d = store_->FindDevice(r.path[2]);
  if (!d.ok()) return StoreError(d.status());
  if (!*d) return NotFound("device");
  return JsonResponse(200, DeviceJson(**d));
}

}  // namespace tern::hub
