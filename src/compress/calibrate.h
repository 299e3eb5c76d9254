// Calibration: run the float model over sample inputs and record the range of chosen tensors.
//
// Ranges come from one of three published methods:
//  - minmax: the smallest and largest value seen;
//  - percentile: clip each tail at a percentile of a histogram of all values seen;
//  - entropy: the clipping threshold that minimises the KL divergence between the histogram of
//    |x| and its quantized version (the TensorRT "entropy calibration" method; 128 levels, or
//    256 for tensors that are never negative).
// The model is run once for minmax and twice for the histogram methods (the first run fixes
// each tensor's histogram range).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "tern/session.h"
#include "tern/status.h"

namespace tern::compress {

/// One set of model inputs, in graph-input order.
using InputSet = std::vector<Value>;

/// Reads DIR/test_data_set_*/input_K.pb (sorted by folder name) for a model with these inputs.
Result<std::vector<InputSet>> LoadInputSets(const std::string& dir,
                                            const std::vector<IoInfo>& inputs);

enum class CalibrationMethod { kMinMax, kPercentile, kEntropy };
Result<CalibrationMethod> ParseCalibrationMethod(const std::string& name);

struct Range {
  float lo = 0;
  float hi = 0;
};

struct CalibrationOptions {
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double percentile = 99.999;  ///< for kPercentile: the share of values kept inside the range
  int threads = 0;
};

/// Runs `model` (float) on every input set and returns the range of each named tensor (values
/// of the main graph: graph inputs or node outputs). Tensors that are not float32 are left out.
Result<std::map<std::string, Range>> Calibrate(const ir::Model& model,
                                               const std::vector<std::string>& tensors,
                                               const std::vector<InputSet>& sets,
                                               const CalibrationOptions& options);

/// The threshold T in [0, max|x|] chosen by the entropy method for a histogram of |x| whose
/// bins each cover `bin_width`, for a quantizer with `levels` steps over [0, T]. Exposed for tests.
float EntropyThreshold(const std::vector<double>& abs_hist, float bin_width, int levels = 128);

}  // namespace tern::compress
