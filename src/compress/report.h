// What a compression cost: sizes before and after, and the error of every output against the
// float model on a set of inputs.
#pragma once

#include <string>
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

struct CompressReport {
  std::string mode;
  uint64_t file_bytes_before = 0;
  uint64_t file_bytes_after = 0;
  uint64_t weight_bytes_before = 0;  ///< sum of initializer sizes
  uint64_t weight_bytes_after = 0;
  QuantizeSummary summary;
  std::string eval_source;  ///< where the compared inputs came from
  int eval_sets = 0;
  std::vector<OutputError> outputs;
};

/// Sum of the sizes of the main graph's initializers.
uint64_t WeightBytes(const ir::Model& model);

/// Runs both serialized models on every set and measures each output of `got` against `ref`.
Result<std::vector<OutputError>> CompareModels(const std::string& ref_model,
                                               const std::string& got_model,
                                               const std::vector<InputSet>& sets, int threads);

std::string ReportText(const CompressReport& report);
std::string ReportJson(const CompressReport& report);

}  // namespace tern::compress
