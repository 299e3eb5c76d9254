// Model quantization: ir::Model in, ir::Model out (a valid ONNX model that Tern and ONNX
// Runtime both run).
//
//  - fp16: float32 weights stored as float16, each followed by a Cast back to float32, so every
//    op still computes in float32 and only the file (and resident weights) shrink.
//  - int8-static: QDQ format. Activation inputs of Conv/MatMul/Gemm get a QuantizeLinear/
//    DequantizeLinear pair with a scale from calibration; weights are stored as symmetric int8
//    (per output channel or per tensor) behind a DequantizeLinear, Conv biases as int32 with
//    scale x_scale * w_scale. A runtime may fuse the pattern into integer kernels.
//  - int8-dynamic: MatMul/Gemm with constant weights become DynamicQuantizeLinear + MatMulInteger
//    and a float rescale; Conv weights are stored as int8 behind a DequantizeLinear.
//  - int4-weights: MatMul and Gemm with constant weights become ONNX Runtime's com.microsoft
//    MatMulNBits (block-wise 4-bit weights, float activations; layout in core/nbits.h), plus an
//    Add for a Gemm bias. Conv weights become an opset-21 blocked DequantizeLinear of an INT4
//    initializer (see quantize_int4.cc).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "compress/calibrate.h"
#include "ir/graph.h"
#include "tern/status.h"

namespace tern::compress {

enum class QuantMode { kFp16, kInt8Dynamic, kInt8Static, kInt4Weights };
Result<QuantMode> ParseQuantMode(const std::string& name);

struct QuantizeOptions {
  QuantMode mode = QuantMode::kInt8Static;
  bool per_channel = false;             ///< int8 weights: one scale per output channel
  bool int8_activations = false;        ///< int8-static: int8 instead of uint8 activations
  std::set<std::string> exclude_ops;    ///< op types left in float
  std::set<std::string> exclude_nodes;  ///< node names left in float
  /// fp16: tensors with fewer elements stay float32 (no size gain; often shape-like parameters).
  int64_t fp16_min_elements = 16;
  int64_t int4_block_size = 32;  ///< int4-weights: weights per scale (16, 32, 64, 128...)
  bool int4_symmetric = true;    ///< int4-weights: false stores a zero point per block
  CalibrationOptions calibration;
};

/// What a quantization changed, for the report.
struct QuantizeSummary {
  int quantized_nodes = 0;
  int converted_weights = 0;
  int64_t opset_before = 0;
  int64_t opset_after = 0;
  /// Bytes of the float weights that were converted, and of what replaced them (codes, scales,
  /// zero points): the "weight part" of the size figures.
  uint64_t converted_bytes_before = 0;
  uint64_t converted_bytes_after = 0;
  /// int8 / uint8 initializers to write as ONNX INT4 / UINT4 (int4-weights Conv weights).
  std::set<std::string> int4_initializers;
};

/// Quantizes a model. int8-static needs `calibration` input sets (ignored otherwise).
Result<ir::Model> Quantize(const ir::Model& model, const QuantizeOptions& options,
                           const std::vector<InputSet>& calibration,
                           QuantizeSummary* summary = nullptr);

// The modes, one file each.
Status QuantizeFp16(ir::Model& model, const QuantizeOptions& options, QuantizeSummary* summary);
Status QuantizeInt8Static(ir::Model& model, const QuantizeOptions& options,
                          const std::vector<InputSet>& calibration, QuantizeSummary* summary);
Status QuantizeInt8Dynamic(ir::Model& model, const QuantizeOptions& options,
                           QuantizeSummary* summary);
Status QuantizeInt4Weights(ir::Model& model, const QuantizeOptions& options,
                           QuantizeSummary* summary);

/// True when a node is left in float: another domain, or excluded by op type or name.
bool ExcludedFromQuantization(const ir::Node& n, const QuantizeOptions& options);

/// Symmetric int8 weights: q = round(w / scale) in [-127, 127] with one scale per slice along
/// `axis` (or one for the whole tensor when axis < 0). Returns the int8 tensor and the scales.
Result<std::pair<Tensor, Tensor>> QuantizeWeightSymmetric(const Tensor& w, int axis);

}  // namespace tern::compress
