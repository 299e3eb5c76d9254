// What a compression cost: sizes before and after, and the error of every output against the
// float model on a set of inputs.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "compress/calibrate.h"
#include "compress/quantize.h"
#include "tern/status.h"

namespace tern::compress {

/// Error of one output, accumulated over all input sets.
struct OutputError {
  std::string name;
  double max_abs = 0;
  double sqnr_db = 0;  ///< 10 log10(sum ref^2 / sum (ref - got)^2); +inf when identical
  double cosine = 0;   ///< cosine similarity of the flattened outputs
  int64_t elements = 0;
};

/// What pruning changed, for the report.
struct PruneSummary {
  int pruned_nodes = 0;
  int64_t zeroed_weights = 0;    ///< unstructured: weights set to zero
  int64_t prunable_weights = 0;  ///< weights of the pruned tensors
  int64_t removed_channels = 0;  ///< structured: output channels removed
  int64_t prunable_channels = 0;
  std::vector<std::string> skipped;  ///< "node: reason" for layers left alone
};

struct CompressReport {
  std::string mode;
  uint64_t file_bytes_before = 0;
  uint64_t file_bytes_after = 0;
  uint64_t weight_bytes_before = 0;  ///< sum of initializer sizes
  uint64_t weight_bytes_after = 0;
  QuantizeSummary summary;
  PruneSummary prune;
  double latency_ms_before = 0;  ///< Tern, median of runs over the eval sets; 0 when not measured
  double latency_ms_after = 0;
  std::string eval_source;  ///< where the compared inputs came from
  int eval_sets = 0;
  std::vector<OutputError> outputs;
};

/// Sum of the sizes of the main graph's initializers as the file stores them (those named in
/// `int4`: 4 bits a value).
uint64_t WeightBytes(const ir::Model& model, const std::set<std::string>& int4 = {});

/// Runs both serialized models on every set and measures each output of `got` against `ref`.
Result<std::vector<OutputError>> CompareModels(const std::string& ref_model,
                                               const std::string& got_model,
                                               const std::vector<InputSet>& sets, int threads);

/// Median latency (ms) of one run with Tern of each of two serialized models over the sets
/// (warmed up, the models taking turns).
Result<std::pair<double, double>> MeasureLatency(const std::string& before,
                                                 const std::string& after,
                                                 const std::vector<InputSet>& sets, int threads);

std::string ReportText(const CompressReport& report);
std::string ReportJson(const CompressReport& report);

}  // namespace tern::compress
