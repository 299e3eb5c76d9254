// Hub metrics in the Prometheus text exposition format (version 0.0.4), written by hand: a
// counter of requests by route and status and a latency histogram by route, kept in memory;
// fleet aggregates are read from the store when /metrics is scraped.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace tern::hub {

class RequestMetrics {
 public:
  /// Counts one answered request.
  void Record(const std::string& route, int status, double seconds);
  void CountTelemetry(bool duplicate);
  /// The request metrics as exposition text.
  std::string Render() const;

 private:
  static constexpr std::array<double, 10> kBoundsS = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,  0.1,    0.5,   1,    5};
  struct Latency {
    std::array<uint64_t, kBoundsS.size()> buckets{};  ///< cumulative when rendered
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Latency> latency_;
  uint64_t batches_ = 0;
  uint64_t duplicate_batches_ = 0;
};

/// Escapes a label value (backslash, quote, newline) for the exposition format.
std::string PromLabel(const std::string& value);

}  // namespace tern::hub
