// File-level drivers behind `tern quantize` and `tern prune`: read, (calibrate,) transform,
// write, report.
#pragma once

#include <functional>
#include <string>

#include "compress/prune.h"
#include "compress/quantize.h"
#include "compress/report.h"

namespace tern::compress {

struct QuantizeFileOptions {
  std::string input;
  std::string output;
  std::string calibration_dir;  ///< DIR/test_data_set_*/input_K.pb
  std::string eval_dir;         ///< inputs for the report's error figures (default: calibration)
  bool measure = false;         ///< run both models for the report's error and latency figures
  QuantizeOptions quantize;
};

/// Quantizes `input` into `output` and fills `report` (errors and latency only when `measure`).
Status QuantizeFile(const QuantizeFileOptions& options, CompressReport* report);

struct PruneFileOptions {
  std::string input;
  std::string output;
  std::string eval_dir;  ///< inputs for the report's error and latency figures
  bool measure = false;
  int threads = 0;
  PruneOptions prune;
};

/// Prunes `input` into `output` and fills `report` (errors and latency only when `measure`).
Status PruneFile(const PruneFileOptions& options, CompressReport* report);

}  // namespace tern::compress
