// File-level driver behind `tern quantize`: read, calibrate, quantize, write, report.
#pragma once

#include <string>

#include "compress/quantize.h"
#include "compress/report.h"

namespace tern::compress {

struct QuantizeFileOptions {
  std::string input;
  std::string output;
  std::string calibration_dir;  ///< DIR/test_data_set_*/input_K.pb
  std::string eval_dir;         ///< inputs for the report's error figures (default: calibration)
  bool measure = false;         ///< run both models for the report's error figures
  QuantizeOptions quantize;
};

/// Quantizes `input` into `output` and fills `report` (errors only when `measure`).
Status QuantizeFile(const QuantizeFileOptions& options, CompressReport* report);

}  // namespace tern::compress
