#include "hub/telemetry.h"

#include <regex>
#include <set>

#include "fleet/metadata.h"

namespace tern::hub {
namespace {

using Json = nlohmann::json;

bool ValidName(const std::string& s) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._+-]{0,127}");
  return std::regex_match(s, re);
}

Result<std::string> NameField(const Json& obj, const char* key, bool required) {
  if (!obj.contains(key)) {
    if (required) return InvalidArgument(std::string("\"") + key + "\" is required");
    return std::string();
  }
  if (!obj[key].is_string() || !ValidName(obj[key].get<std::string>())) {
    return InvalidArgument(std::string("\"") + key + "\" is not a valid name");
  }
  return obj[key].get<std::string>();
}

Result<uint64_t> CountField(const Json& obj, const char* key, uint64_t max) {
  if (!obj.contains(key)) return uint64_t{0};
  const Json& v = obj[key];
  if (!v.is_number_integer() || (!v.is_number_unsigned() && v.get<int64_t>() < 0)) {
    return InvalidArgument(std::string("\"") + key + "\" must be a non-negative integer");
  }
  uint64_t n = v.get<uint64_t>();
  if (n > max) return InvalidArgument(std::string("\"") + key + "\" is too large");
  return n;
}

Result<std::vector<uint64_t>> Histogram(const Json& report, uint64_t max) {
  std::vector<uint64_t> counts(kLatencyBuckets, 0);
  if (!report.contains("latency_ms")) return counts;
  const Json& h = report["latency_ms"];
  if (!h.is_object() || !h.contains("bounds") || !h.contains("counts")) {
    return InvalidArgument("\"latency_ms\" must be {\"bounds\": [...], \"counts\": [...]}");
  }
  const Json& bounds = h["bounds"];
  if (!bounds.is_array() || bounds.size() != kLatencyBoundsMs.size()) {
    return InvalidArgument("\"latency_ms.bounds\" must be the hub's " +
                           std::to_string(kLatencyBoundsMs.size()) + " bounds");
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!bounds[i].is_number() || bounds[i].get<double>() != kLatencyBoundsMs[i]) {
      return InvalidArgument("\"latency_ms.bounds\" differ from the hub's bounds");
    }
  }
  const Json& c = h["counts"];
  if (!c.is_array() || c.size() != kLatencyBuckets) {
    return InvalidArgument("\"latency_ms.counts\" must hold " + std::to_string(kLatencyBuckets) +
                           " counts (the last for slower runs)");
  }
  for (size_t i = 0; i < c.size(); ++i) {
    const bool non_negative =
        c[i].is_number_unsigned() || (c[i].is_number_integer() && c[i].get<int64_t>() >= 0);
    if (!non_negative || c[i].get<uint64_t>() > max) {
      return InvalidArgument("\"latency_ms.counts\" must be non-negative integers");
    }
    counts[i] = c[i].get<uint64_t>();
  }
  return counts;
}

bool KnownEventType(const std::string& t) {
  for (const char* k : kTelemetryEventTypes) {
    if (t == k) return true;
  }
  return false;
}

}  // namespace

Result<TelemetryBatchRecord> ParseTelemetryBatch(const Json& body, const std::string& device_id,
                                                 int64_t now, const TelemetryLimits& limits) {
  if (!body.is_object()) return InvalidArgument("expected a JSON object");
  TelemetryBatchRecord b;
  b.device_id = device_id;
  b.received_at = now;
  static const std::regex batch_re("[A-Za-z0-9._:-]{1,128}");
  if (!body.contains("batch_id") || !body["batch_id"].is_string() ||
      !std::regex_match(body["batch_id"].get<std::string>(), batch_re)) {
    return InvalidArgument("\"batch_id\" must be 1 to 128 of [A-Za-z0-9._:-]");
  }
  b.batch_id = body["batch_id"].get<std::string>();

  if (body.contains("active")) {
    const Json& a = body["active"];
    if (!a.is_object()) return InvalidArgument("\"active\" must be an object");
    TERN_ASSIGN_OR_RETURN(b.active_model, NameField(a, "model", true));
    TERN_ASSIGN_OR_RETURN(b.active_version, NameField(a, "version", true));
  }

  const Json empty = Json::array();
  const Json& reports = body.contains("reports") ? body["reports"] : empty;
  if (!reports.is_array() || reports.size() > limits.max_reports) {
    return InvalidArgument("\"reports\" must be an array of at most " +
                           std::to_string(limits.max_reports));
  }
  for (const auto& r : reports) {
    if (!r.is_object()) return InvalidArgument("a report must be an object");
    TelemetryRow row;
    TERN_ASSIGN_OR_RETURN(row.model, NameField(r, "model", true));
    TERN_ASSIGN_OR_RETURN(row.version, NameField(r, "version", true));
    TERN_ASSIGN_OR_RETURN(row.inferences, CountField(r, "inferences", limits.max_count));
    TERN_ASSIGN_OR_RETURN(row.errors, CountField(r, "errors", limits.max_count));
    TERN_ASSIGN_OR_RETURN(row.crashes, CountField(r, "crashes", limits.max_count));
    TERN_ASSIGN_OR_RETURN(row.latency_buckets, Histogram(r, limits.max_count));
    b.rows.push_back(std::move(row));
  }

  const Json& events = body.contains("events") ? body["events"] : empty;
  if (!events.is_array() || events.size() > limits.max_events) {
    return InvalidArgument("\"events\" must be an array of at most " +
                           std::to_string(limits.max_events));
  }
  for (const auto& e : events) {
    if (!e.is_object()) return InvalidArgument("an event must be an object");
    TelemetryEventRecord ev;
    if (!e.contains("type") || !e["type"].is_string() ||
        !KnownEventType(e["type"].get<std::string>())) {
      return InvalidArgument(
          "event \"type\" must be one of swap, rollback, health_check_passed, "
          "health_check_failed, crash, download_failed");
    }
    ev.type = e["type"].get<std::string>();
    TERN_ASSIGN_OR_RETURN(ev.model, NameField(e, "model", true));
    TERN_ASSIGN_OR_RETURN(ev.version, NameField(e, "version", true));
    TERN_ASSIGN_OR_RETURN(ev.from_version, NameField(e, "from_version", ev.type == "rollback"));
    ev.at = now;
    if (e.contains("at")) {
      if (!e["at"].is_string()) return InvalidArgument("event \"at\" must be an RFC 3339 time");
      auto at = fleet::ParseTime(e["at"].get<std::string>());
      if (!at.ok()) return InvalidArgument("event \"at\": " + at.status().message());
      ev.at = *at;
    }
    if (e.contains("detail")) {
      if (!e["detail"].is_string() || e["detail"].get<std::string>().size() > 1024) {
        return InvalidArgument("event \"detail\" must be a string of at most 1024 bytes");
      }
      ev.detail = e["detail"].get<std::string>();
    }
    // Rows the gates read: which version failed, and which versions a device ran.
    TelemetryRow row;
    row.model = ev.model;
    row.latency_buckets.assign(kLatencyBuckets, 0);
    if (ev.type == "rollback") {
      row.version = ev.from_version;
      row.failures = 1;
    } else if (ev.type == "health_check_failed" || ev.type == "crash") {
      row.version = ev.version;
      row.failures = 1;
    } else if (ev.type == "swap") {
      row.version = ev.version;
    }
    if (!row.version.empty()) b.rows.push_back(std::move(row));
    b.events.push_back(std::move(ev));
  }
  return b;
}

std::optional<double> HistogramQuantile(const std::vector<uint64_t>& buckets, double q) {
  uint64_t total = 0;
  for (uint64_t c : buckets) total += c;
  if (total == 0) return std::nullopt;
  const double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i] == 0) continue;
    if (static_cast<double>(below + buckets[i]) >= rank) {
      if (i >= kLatencyBoundsMs.size()) return kLatencyBoundsMs.back();
      double lo = i == 0 ? 0.0 : kLatencyBoundsMs[i - 1];
      double hi = kLatencyBoundsMs[i];
      double within = (rank - static_cast<double>(below)) / static_cast<double>(buckets[i]);
      return lo + (hi - lo) * std::max(0.0, within);
    }
    below += buckets[i];
  }
  return kLatencyBoundsMs.back();
}

}  // namespace tern::hub
