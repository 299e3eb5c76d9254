#include "hub/store_rows.h"

#include <nlohmann/json.hpp>

namespace tern::hub {

using Json = nlohmann::json;

std::vector<std::string> StringListFromJson(const std::string& text) {
  std::vector<std::string> out;
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

void AddTelemetryRow(std::vector<DeviceTelemetry>* out, const std::string& device_id,
                     int64_t inferences, int64_t errors, int64_t crashes, int64_t failures,
                     const std::string& latency_buckets_json) {
  if (out->empty() || out->back().device_id != device_id) {
    out->push_back(DeviceTelemetry{device_id});
  }
  DeviceTelemetry& d = out->back();
  d.inferences += static_cast<uint64_t>(inferences);
  d.errors += static_cast<uint64_t>(errors);
  d.crashes += static_cast<uint64_t>(crashes);
  d.failures += static_cast<uint64_t>(failures);
  // Histograms are JSON arrays summed here; the counters could be summed in SQL, but one pass
  // over the rows keeps the two in step.
  Json buckets = Json::parse(latency_buckets_json, nullptr, /*allow_exceptions=*/false);
  if (!buckets.is_array()) return;
  if (d.latency_buckets.size() < buckets.size()) d.latency_buckets.resize(buckets.size());
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (buckets[i].is_number_unsigned()) d.latency_buckets[i] += buckets[i].get<uint64_t>();
  }
}

}  // namespace tern::hub
