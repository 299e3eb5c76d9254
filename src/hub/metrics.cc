#include "hub/metrics.h"

#include <cstdio>

namespace tern::hub {
namespace {

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string PromLabel(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void RequestMetrics::Record(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, status}];
  Latency& l = latency_[route];
  for (size_t i = 0; i < kBoundsS.size(); ++i) {
    if (seconds <= kBoundsS[i]) {
      ++l.buckets[i];
      break;
    }
  }
  ++l.count;
  l.sum += seconds;
}

void RequestMetrics::CountTelemetry(bool duplicate) {
  std::lock_guard<std::mutex> lock(mu_);
  ++(duplicate ? duplicate_batches_ : batches_);
}

std::string RequestMetrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP tern_hub_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE tern_hub_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    out += "tern_hub_requests_total{route=\"" + PromLabel(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP tern_hub_request_duration_seconds Time to handle a request (long-polls "
      "include their wait), by route.\n";
  out += "# TYPE tern_hub_request_duration_seconds histogram\n";
  for (const auto& [route, l] : latency_) {
    const std::string r = "route=\"" + PromLabel(route) + "\"";
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBoundsS.size(); ++i) {
      cumulative += l.buckets[i];
      out += "tern_hub_request_duration_seconds_bucket{" + r + ",le=\"" + Num(kBoundsS[i]) +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "tern_hub_request_duration_seconds_bucket{" + r + ",le=\"+Inf\"} " +
           std::to_string(l.count) + "\n";
    out += "tern_hub_request_duration_seconds_sum{" + r + "} " + Num(l.sum) + "\n";
    out += "tern_hub_request_duration_seconds_count{" + r + "} " + std::to_string(l.count) + "\n";
  }
  out += "# HELP tern_hub_telemetry_batches_total Telemetry batches stored (resends excluded).\n";
  out += "# TYPE tern_hub_telemetry_batches_total counter\n";
  out += "tern_hub_telemetry_batches_total " + std::to_string(batches_) + "\n";
  out += "# HELP tern_hub_telemetry_duplicate_batches_total Resent batches ignored.\n";
  out += "# TYPE tern_hub_telemetry_duplicate_batches_total counter\n";
  out += "tern_hub_telemetry_duplicate_batches_total " + std::to_string(duplicate_batches_) + "\n";
  return out;
}

}  // namespace tern::hub
