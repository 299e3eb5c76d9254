#include "compress/quantize.h"

#include <algorithm>
#include <cmath>

#include "onnx/onnx_import.h"

namespace tern::compress {

namespace {

// QuantizeLinear/DequantizeLinear take a per-axis scale from opset 13 on; older models are
// converted first (libonnx's version converter) so the output stays a plain ai.onnx model.
constexpr int64_t kInt8MinOpset = 13;

}  // namespace

Result<QuantMode> ParseQuantMode(const std::string& name) {
  if (name == "fp16") return QuantMode::kFp16;
  if (name == "int8-dynamic") return QuantMode::kInt8Dynamic;
  if (name == "int8-static") return QuantMode::kInt8Static;
  if (name == "int4-weights") return QuantMode::kInt4Weights;
  return InvalidArgument("unknown mode '" + name +
                         "' (fp16, int8-dynamic, int8-static or int4-weights)");
}

bool ExcludedFromQuantization(const ir::Node& n, const QuantizeOptions& o) {
  return !n.domain.empty() || o.exclude_ops.count(n.op_type) || o.exclude_nodes.count(n.name);
}

Result<std::pair<Tensor, Tensor>> QuantizeWeightSymmetric(const Tensor& w, int axis) {
  if (w.dtype() != DataType::kFloat32) return InvalidArgument("weights must be float32");
  if (axis >= static_cast<int>(w.rank())) return InvalidArgument("axis out of range");
  const int64_t channels = axis < 0 ? 1 : w.dim(static_cast<size_t>(axis));
  const int64_t inner =
      axis < 0 ? w.numel() : w.shape().Product(static_cast<size_t>(axis) + 1, w.rank());
  const int64_t outer = axis < 0 ? 1 : w.shape().Product(0, static_cast<size_t>(axis));
  TERN_ASSIGN_OR_RETURN(Tensor q, Tensor::Allocate(DataType::kInt8, w.shape()));
  Shape scale_shape = axis < 0 ? Shape{} : Shape{channels};
  TERN_ASSIGN_OR_RETURN(Tensor scales, Tensor::Allocate(DataType::kFloat32, scale_shape));
  const float* x = w.data<float>();
  int8_t* y = q.data<int8_t>();
  for (int64_t c = 0; c < channels; ++c) {
    float amax = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i)
        amax = std::max(amax, std::fabs(x[(o * channels + c) * inner + i]));
    // [-127, 127]: symmetric, and u8 x s8 products of a pair never overflow int16 in VNNI-style
    // kernels. An all-zero channel keeps scale 1 so dequantization stays exact.
    const float scale = amax > 0 ? amax / 127.0f : 1.0f;
    scales.data<float>()[c] = scale;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t k = (o * channels + c) * inner + i;
        y[k] = static_cast<int8_t>(std::clamp(std::nearbyint(x[k] / scale), -127.0f, 127.0f));
      }
  }
  return std::make_pair(std::move(q), std::move(scales));
}

Result<ir::Model> Quantize(const ir::Model& model, const QuantizeOptions& options,
                           const std::vector<InputSet>& calibration, QuantizeSummary* summary) {
  QuantizeSummary local;
  if (!summary) summary = &local;
  auto it = model.opsets.find("");
  summary->opset_before = it == model.opsets.end() ? 0 : it->second;
  ir::Model out;
  const bool int8 =
      options.mode == QuantMode::kInt8Static || options.mode == QuantMode::kInt8Dynamic;
  if (int8 && summary->opset_before < kInt8MinOpset) {
    TERN_ASSIGN_OR_RETURN(out, onnx::ConvertOpset(model, kInt8MinOpset));
  } else {
    out = model;
    out.graph = std::make_shared<ir::Graph>(*model.graph);  // edits must not touch the input
  }
  summary->opset_after = out.opsets[""];
  switch (options.mode) {
    case QuantMode::kFp16:
      TERN_RETURN_IF_ERROR(QuantizeFp16(out, options, summary));
      break;
    case QuantMode::kInt8Static:
      TERN_RETURN_IF_ERROR(QuantizeInt8Static(out, options, calibration, summary));
      break;
    case QuantMode::kInt8Dynamic:
      TERN_RETURN_IF_ERROR(QuantizeInt8Dynamic(out, options, summary));
      break;
    case QuantMode::kInt4Weights:
      TERN_RETURN_IF_ERROR(QuantizeInt4Weights(out, options, summary));
      break;
  }
  if (out.producer_name.empty()) out.producer_name = "tern quantize";
  return out;
}

}  // namespace tern::compress
