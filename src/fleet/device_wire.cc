#include "fleet/device_wire.h"

namespace tern::fleet {
namespace {

constexpr size_t kMaxEvents = 1024;
constexpr size_t kMaxText = 1024;

Status Bad(const std::string& what) { return InvalidArgument("wire: " + what); }

Result<std::string> Text(const Json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return Bad(std::string("missing \"") + key + "\"");
    return std::string();
  }
  if (!it->is_string()) return Bad(std::string("\"") + key + "\" must be a string");
  std::string s = it->get<std::string>();
  if (s.size() > kMaxText) return Bad(std::string("\"") + key + "\" is too long");
  return s;
}

Result<int64_t> Int(const Json& j, const char* key, bool required) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) return Bad(std::string("missing \"") + key + "\"");
    return int64_t{0};
  }
  if (!it->is_number_integer() || (it->is_number_unsigned() && it->get<uint64_t>() > INT64_MAX) ||
      it->get<int64_t>() < 0) {
    return Bad(std::string("\"") + key + "\" must be a non-negative integer");
  }
  return it->get<int64_t>();
}

}  // namespace

size_t LatencyBucket(uint64_t micros) {
  for (size_t i = 0; i < kLatencyBoundsMs.size(); ++i) {
    if (static_cast<double>(micros) <= kLatencyBoundsMs[i] * 1000.0) return i;
  }
  return kLatencyBoundsMs.size();
}

Json Assignment::ToJson() const {
  Json j = {{"reason", reason},
            {"model", model.empty() ? Json(nullptr) : Json(model)},
            {"version", version.empty() ? Json(nullptr) : Json(version)},
            {"manifest", manifest},
            {"rollout_id", rollout_id.empty() ? Json(nullptr) : Json(rollout_id)},
            {"etag", etag},
            {"poll_after_s", poll_after_s}};
  if (!version.empty()) j["manifest_version"] = manifest_version;
  return j;
}

Result<Assignment> Assignment::FromJson(const Json& j) {
  if (!j.is_object()) return Bad("assignment is not an object");
  Assignment a;
  TERN_ASSIGN_OR_RETURN(a.reason, Text(j, "reason", true));
  if (a.reason != "rollout" && a.reason != "baseline" && a.reason != "rollback" &&
      a.reason != "none") {
    return Bad("unknown assignment reason \"" + a.reason + "\"");
  }
  TERN_ASSIGN_OR_RETURN(a.etag, Text(j, "etag", false));
  TERN_ASSIGN_OR_RETURN(a.poll_after_s, Int(j, "poll_after_s", false));
  auto rid = j.find("rollout_id");
  if (rid != j.end() && !rid->is_null()) {
    TERN_ASSIGN_OR_RETURN(a.rollout_id, Text(j, "rollout_id", true));
  }
  if (a.reason == "none") return a;
  TERN_ASSIGN_OR_RETURN(a.model, Text(j, "model", true));
  TERN_ASSIGN_OR_RETURN(a.version, Text(j, "version", true));
  TERN_ASSIGN_OR_RETURN(a.manifest_version, Int(j, "manifest_version", false));
  if (a.model.empty() || a.version.empty()) return Bad("assignment names no model version");
  auto m = j.find("manifest");
  if (m == j.end() || !m->is_object()) return Bad("assignment has no manifest");
  a.manifest = *m;
  return a;
}

Json TelemetryReport::ToJson() const {
  Json evs = Json::array();
  for (const auto& e : events) {
    evs.push_back({{"time", e.time},
                   {"kind", e.kind},
                   {"model", e.model},
                   {"version", e.version},
                   {"from_version", e.from_version},
                   {"detail", e.detail}});
  }
  return {{"seq", seq},
          {"from", from},
          {"to", to},
          {"model", model},
          {"version", version},
          {"inferences", inferences},
          {"errors", errors},
          {"latency_buckets", latency_buckets},
          {"latency_bounds_ms", kLatencyBoundsMs},
          {"events", evs},
          {"dropped_reports", dropped_reports}};
}

Json TelemetryReport::ToHubBatch(const std::string& device_id) const {
  Json batch = {{"batch_id", device_id + "-" + std::to_string(seq)},
                {"reports", Json::array()},
                {"events", Json::array()}};
  if (!model.empty() && !version.empty())
    batch["active"] = {{"model", model}, {"version", version}};
  if (inferences > 0 && !model.empty() && !version.empty()) {
    batch["reports"].push_back(
        {{"model", model},
         {"version", version},
         {"inferences", inferences},
         {"errors", errors},
         {"crashes", 0},
         {"latency_ms", {{"bounds", kLatencyBoundsMs}, {"counts", latency_buckets}}}});
  }
  for (const auto& e : events) {
    std::string type;
    if (e.kind == "install")
      type = "swap";
    else if (e.kind == "health_passed")
      type = "health_check_passed";
    else if (e.kind == "health_failed")
      type = "health_check_failed";
    else if (e.kind == "rollback")
      type = "rollback";
    else if (e.kind == "refused")
      type = "download_failed";
    // The hub needs the model and version an event concerns; a rollback with nothing to return
    // to was already reported as a failed health check.
    if (type.empty() || e.model.empty() || e.version.empty()) continue;
    if (type == "rollback" && e.from_version.empty()) continue;
    Json je = {{"type", type},
               {"model", e.model},
               {"version", e.version},
               {"at", FormatTime(e.time)},
               {"detail", e.detail.substr(0, 1000)}};
    if (!e.from_version.empty()) je["from_version"] = e.from_version;
    batch["events"].push_back(std::move(je));
    if (batch["events"].size() >= 256) break;  // the hub's bound per batch
  }
  return batch;
}

Result<TelemetryReport> TelemetryReport::FromJson(const Json& j) {
  if (!j.is_object()) return Bad("report is not an object");
  TelemetryReport r;
  TERN_ASSIGN_OR_RETURN(r.seq, Int(j, "seq", true));
  TERN_ASSIGN_OR_RETURN(r.from, Int(j, "from", true));
  TERN_ASSIGN_OR_RETURN(r.to, Int(j, "to", true));
  TERN_ASSIGN_OR_RETURN(r.model, Text(j, "model", false));
  TERN_ASSIGN_OR_RETURN(r.version, Text(j, "version", false));
  TERN_ASSIGN_OR_RETURN(int64_t n, Int(j, "inferences", false));
  r.inferences = static_cast<uint64_t>(n);
  TERN_ASSIGN_OR_RETURN(n, Int(j, "errors", false));
  r.errors = static_cast<uint64_t>(n);
  TERN_ASSIGN_OR_RETURN(n, Int(j, "dropped_reports", false));
  r.dropped_reports = static_cast<uint64_t>(n);
  if (j.contains("latency_buckets")) {
    const Json& b = j["latency_buckets"];
    if (!b.is_array() || b.size() != kLatencyBucketCount) {
      return Bad("\"latency_buckets\" must hold " + std::to_string(kLatencyBucketCount) +
                 " counts");
    }
    for (size_t i = 0; i < b.size(); ++i) {
      if (!b[i].is_number_unsigned()) return Bad("a latency bucket is not a count");
      r.latency_buckets[i] = b[i].get<uint64_t>();
    }
  }
  if (j.contains("events")) {
    const Json& evs = j["events"];
    if (!evs.is_array() || evs.size() > kMaxEvents) return Bad("\"events\" must be a short array");
    for (const auto& je : evs) {
      if (!je.is_object()) return Bad("an event is not an object");
      TelemetryEvent e;
      TERN_ASSIGN_OR_RETURN(e.time, Int(je, "time", true));
      TERN_ASSIGN_OR_RETURN(e.kind, Text(je, "kind", true));
      TERN_ASSIGN_OR_RETURN(e.model, Text(je, "model", false));
      TERN_ASSIGN_OR_RETURN(e.version, Text(je, "version", false));
      TERN_ASSIGN_OR_RETURN(e.from_version, Text(je, "from_version", false));
      TERN_ASSIGN_OR_RETURN(e.detail, Text(je, "detail", false));
      r.events.push_back(std::move(e));
    }
  }
  if (r.to < r.from) return Bad("report ends before it starts");
  return r;
}

}  // namespace tern::fleet
