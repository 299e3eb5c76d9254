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
  for (size_t i = 0; i < kLatencyBucketsUs.size(); ++i) {
    if (micros <= kLatencyBucketsUs[i]) return i;
  }
  return kLatencyBucketsUs.size();
}

Json Assignment::ToJson() const {
  Json j = {{"model", model}, {"version", version}, {"revision", revision}};
  if (!rollout_id.empty()) j["rollout_id"] = rollout_id;
  return j;
}

Result<Assignment> Assignment::FromJson(const Json& j) {
  if (!j.is_object()) return Bad("assignment is not an object");
  Assignment a;
  TERN_ASSIGN_OR_RETURN(a.model, Text(j, "model", true));
  TERN_ASSIGN_OR_RETURN(a.version, Text(j, "version", true));
  TERN_ASSIGN_OR_RETURN(a.rollout_id, Text(j, "rollout_id", false));
  TERN_ASSIGN_OR_RETURN(a.revision, Int(j, "revision", false));
  if (a.model.empty() || a.version.empty()) return Bad("assignment names no model version");
  return a;
}

Json TelemetryReport::ToJson() const {
  Json evs = Json::array();
  for (const auto& e : events) {
    evs.push_back({{"time", e.time},
                   {"kind", e.kind},
                   {"model", e.model},
                   {"version", e.version},
                   {"detail", e.detail}});
  }
  return {{"seq", seq},
          {"from", from},
          {"to", to},
          {"model", model},
          {"version", version},
          {"inferences", inferences},
          {"errors", errors},
          {"latency_us_buckets", latency_us_buckets},
          {"latency_us_bounds", kLatencyBucketsUs},
          {"events", evs},
          {"dropped_reports", dropped_reports}};
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
  if (j.contains("latency_us_buckets")) {
    const Json& b = j["latency_us_buckets"];
    if (!b.is_array() || b.size() != kLatencyBucketCount) {
      return Bad("\"latency_us_buckets\" must hold " + std::to_string(kLatencyBucketCount) +
                 " counts");
    }
    for (size_t i = 0; i < b.size(); ++i) {
      if (!b[i].is_number_unsigned()) return Bad("a latency bucket is not a count");
      r.latency_us_buckets[i] = b[i].get<uint64_t>();
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
      TERN_ASSIGN_OR_RETURN(e.detail, Text(je, "detail", false));
      r.events.push_back(std::move(e));
    }
  }
  if (r.to < r.from) return Bad("report ends before it starts");
  return r;
}

}  // namespace tern::fleet
