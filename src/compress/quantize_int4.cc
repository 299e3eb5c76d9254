// int4-weights: MatMul(A, B) and Gemm(A, B, C) with a constant 2-D B become com.microsoft
// MatMulNBits(A, codes, scales[, zero_points]), the weight-only 4-bit op of ONNX Runtime, so both
// runtimes run the file. MatMulNBits stores W as [N, K] (one row per output column), which is
// B transposed for MatMul and for Gemm with transB=0, and B itself for transB=1. Gemm's alpha is
// folded into W before quantization; beta * C becomes an Add after the MatMulNBits (ORT's bias
// input is newer than some runtimes in the field, and an Add also covers every broadcast of C).
// Gemm with transA=1 stays float.
//
// Conv weights W [M, C/group, k...] become an opset-21 DequantizeLinear of a 4-bit initializer
// (ONNX INT4, or UINT4 with a UINT4 zero point when asymmetric) of shape [M, K] with
// K = C/group * prod(k), blocked along K (`block_size`, scales [M, ceil(K / block)]), then a
// Reshape back to W's shape. Blocking along K rather than along the input-channel axis of the
// 4-D weight keeps blocks full: a 3x3 Conv with 16 input channels would otherwise get one scale
// per 16 weights. The codes are the MatMulNBits codes of core/nbits.h (same rounding) minus the
// default zero point 8 when symmetric. BatchNormalization is folded into the Conv first (the
// weight_folding pass), and models below opset 21 are moved to 21 only when every op they use
// means the same there (an allow-list); otherwise their Conv weights stay float.
#include <set>
#include <string>
#include <vector>

#include "compress/graph_edit.h"
#include "compress/quantize.h"
#include "core/nbits.h"
#include "passes/passes.h"

namespace tern::compress {

namespace {

constexpr const char* kMsDomain = "com.microsoft";

/// The [N, K] float weight of a MatMul/Gemm node (alpha folded in), or an empty vector when the
/// node is not a candidate.
std::vector<float> WeightNK(const ir::Graph& g, const ir::Node& n, int64_t* k_out, int64_t* n_out) {
  const bool gemm = n.op_type == "Gemm";
  if ((n.op_type != "MatMul" && !gemm) || n.inputs.size() < 2 || n.inputs[0] < 0) return {};
  if (FloatWeight(g, n.inputs[0])) return {};  // constant A: leave it to constant folding
  const Tensor* w = FloatWeight(g, n.inputs[1]);
  if (!w || w->rank() != 2 || w->numel() == 0) return {};
  if (gemm && AttrInt(n, "transA", 0) != 0) return {};
  if (gemm && n.inputs.size() > 2 && n.inputs[2] >= 0 && !FloatWeight(g, n.inputs[2]) &&
      AttrFloat(n, "beta", 1.0f) != 1.0f)
    return {};  // a computed C scaled by beta would need a Mul; rare, left in float
  const bool trans_b = gemm && AttrInt(n, "transB", 0) != 0;
  const float alpha = gemm ? AttrFloat(n, "alpha", 1.0f) : 1.0f;
  const int64_t rows = w->dim(0), cols = w->dim(1);
  const int64_t k = trans_b ? cols : rows, nn = trans_b ? rows : cols;
  std::vector<float> out(static_cast<size_t>(k * nn));
  const float* src = w->data<float>();
  for (int64_t c = 0; c < nn; ++c)
    for (int64_t r = 0; r < k; ++r)
      out[static_cast<size_t>(c * k + r)] =
          alpha * (trans_b ? src[c * cols + r] : src[r * cols + c]);
  *k_out = k;
  *n_out = nn;
  return out;
}

// Blocked DequantizeLinear and the INT4/UINT4 types arrived in opset 21 (IR version 10).
constexpr int64_t kBlockedDqOpset = 21;
constexpr int64_t kBlockedDqIrVersion = 10;

/// ai.onnx ops whose inference semantics (with the attributes a model from opset 13 on can carry)
/// did not change up to opset 21, so such a model can declare opset 21 without conversion.
/// libonnx 1.12's version converter stops at opset 17.
bool SameSemanticsAtOpset21(const std::string& op) {
  static const std::set<std::string> kOps = {
      "Abs",           "Add",         "AveragePool", "BatchNormalization",
      "Clip",          "Concat",      "Conv",        "Div",
      "Dropout",       "Elu",         "Erf",         "Exp",
      "Flatten",       "Gather",      "Gemm",        "GlobalAveragePool",
      "GlobalMaxPool", "HardSigmoid", "HardSwish",   "Identity",
      "LeakyRelu",     "LogSoftmax",  "MatMul",      "Max",
      "MaxPool",       "Min",         "Mul",         "Neg",
      "PRelu",         "Relu",        "Reshape",     "Sigmoid",
      "Softmax",       "Sqrt",        "Sub",         "Tanh",
      "Transpose",     "Unsqueeze",   "Squeeze",     "DequantizeLinear"};
  return kOps.count(op) > 0;
}

/// True when the model is (or can simply be declared) at opset >= 21.
bool BlockedDqAvailable(const ir::Model& model) {
  auto it = model.opsets.find("");
  const int64_t opset = it == model.opsets.end() ? 0 : it->second;
  if (opset >= kBlockedDqOpset) return true;
  if (opset < 13) return false;
  for (const ir::Node& n : model.graph->nodes) {
    if (!n.domain.empty()) continue;
    if (!SameSemanticsAtOpset21(n.op_type)) return false;
    for (const ir::Attribute& a : n.attrs)
      if (a.type == ir::AttrType::kGraph || a.type == ir::AttrType::kGraphs) return false;
  }
  return true;
}

void DeclareBlockedDqOpset(ir::Model& model) {
  if (model.opsets[""] >= kBlockedDqOpset) return;
  model.opsets[""] = kBlockedDqOpset;
  model.ir_version = std::max(model.ir_version, kBlockedDqIrVersion);
  for (ir::Node& n : model.graph->nodes)
    if (n.domain.empty()) n.opset = static_cast<int>(kBlockedDqOpset);
}

/// Folds BatchNormalization (and per-channel Mul/Add) into the preceding Conv so that the folded
/// weights are the ones quantized; the other passes stay off to keep the graph as written.
Status FoldConvNormalization(ir::Model& model) {
  std::vector<std::string> disabled;
  for (const std::string& name : passes::PassNames())
    if (name != "weight_folding" && name != "dead_code") disabled.push_back(name);
  auto result = passes::Optimize(model, disabled);
  return result.ok() ? Status::Ok() : result.status();
}

/// Replaces Conv node `n`'s float weight with DequantizeLinear(4-bit [M, K], blocked) + Reshape.
/// Returns false (nothing changed) when the weight is not a constant float tensor of rank >= 3.
Result<bool> QuantizeConvWeight(GraphEditor& ed, ir::Node& n, const QuantizeOptions& options,
                                QuantizeSummary* summary) {
  ir::Graph& g = ed.graph();
  if (n.inputs.size() < 2) return false;
  const Tensor* w = FloatWeight(g, n.inputs[1]);
  if (!w || w->rank() < 3 || w->numel() == 0) return false;
  const int64_t m = w->dim(0), k = w->numel() / m;
  TERN_ASSIGN_OR_RETURN(nbits::Int4Layout layout,
                        nbits::MakeLayout(k, m, 4, options.int4_block_size));
  const int64_t blocks = layout.blocks_per_col();
  const bool symmetric = options.int4_symmetric;
  TERN_ASSIGN_OR_RETURN(
      Tensor codes, Tensor::Allocate(symmetric ? DataType::kInt8 : DataType::kUInt8, Shape{m, k}));
  TERN_ASSIGN_OR_RETURN(Tensor scales, Tensor::Allocate(DataType::kFloat32, Shape{m, blocks}));
  Tensor zp;
  if (!symmetric) {
    TERN_ASSIGN_OR_RETURN(zp, Tensor::Allocate(DataType::kUInt8, Shape{m, blocks}));
  }
  std::vector<uint8_t> packed(static_cast<size_t>(layout.col_bytes()));
  std::vector<uint8_t> packed_zp(static_cast<size_t>(layout.zp_bytes_per_col()));
  for (int64_t r = 0; r < m; ++r) {
    nbits::QuantizeColumn(layout, w->data<float>() + r * k, symmetric, packed.data(),
                          scales.data<float>() + r * blocks,
                          symmetric ? nullptr : packed_zp.data());
    for (int64_t i = 0; i < k; ++i) {
      const int code = nbits::Code(packed.data(), i);
      if (symmetric)
        codes.data<int8_t>()[r * k + i] = static_cast<int8_t>(code - nbits::kDefaultZeroPoint);
      else
        codes.data<uint8_t>()[r * k + i] = static_cast<uint8_t>(code);
    }
    for (int64_t b = 0; b < blocks && !symmetric; ++b)
      zp.data<uint8_t>()[r * blocks + b] =
          static_cast<uint8_t>(nbits::ZeroPoint(packed_zp.data(), b));
  }
  // Weight part: 4 bits per code and zero point, 32 per scale, as the file stores them.
  summary->converted_bytes_before += static_cast<uint64_t>(w->nbytes());
  summary->converted_bytes_after += static_cast<uint64_t>((codes.numel() + 1) / 2) +
                                    scales.nbytes() + static_cast<uint64_t>((zp.numel() + 1) / 2);

  const std::string wname = g.values[static_cast<size_t>(n.inputs[1])].name;
  TERN_ASSIGN_OR_RETURN(Tensor shape,
                        Tensor::Allocate(DataType::kInt64, Shape{static_cast<int64_t>(w->rank())}));
  for (size_t d = 0; d < w->rank(); ++d) shape.data<int64_t>()[d] = w->dim(d);
  const int codes_id = ed.AddInitializer(wname + "_q4", std::move(codes));
  summary->int4_initializers.insert(g.values[static_cast<size_t>(codes_id)].name);
  std::vector<int> dq_inputs = {codes_id,
                                ed.AddInitializer(wname + "_q4_scales", std::move(scales))};
  if (zp.defined()) {
    dq_inputs.push_back(ed.AddInitializer(wname + "_q4_zero_points", std::move(zp)));
    summary->int4_initializers.insert(g.values[static_cast<size_t>(dq_inputs.back())].name);
  }
  const int shape_id = ed.AddInitializer(wname + "_shape", std::move(shape));
  const int flat = ed.AddValue(wname + "_dq", DataType::kFloat32);
  ed.AddNode("DequantizeLinear", dq_inputs, {flat},
             {IntAttr("axis", 1), IntAttr("block_size", options.int4_block_size)});
  const int weight = ed.AddValue(wname + "_dq_reshaped", DataType::kFloat32);
  ed.AddNode("Reshape", {flat, shape_id}, {weight});
  n.inputs[1] = weight;
  return true;
}

}  // namespace

Status QuantizeInt4Weights(ir::Model& model, const QuantizeOptions& options,
                           QuantizeSummary* summary) {
  if (model.opsets.find(kMsDomain) == model.opsets.end()) model.opsets[kMsDomain] = 1;
  bool convs = false;  // a Conv to convert, in a model that can be at opset 21
  for (const ir::Node& n : model.graph->nodes)
    convs = convs || (n.op_type == "Conv" && !ExcludedFromQuantization(n, options));
  convs = convs && BlockedDqAvailable(model);
  if (convs) {
    TERN_RETURN_IF_ERROR(FoldConvNormalization(model));
    DeclareBlockedDqOpset(model);
  }
  GraphEditor ed(model);
  ir::Graph& g = ed.graph();
  const size_t original_nodes = g.nodes.size();
  std::vector<bool> erase(original_nodes, false);
  for (size_t i = 0; i < original_nodes; ++i) {
    if (ExcludedFromQuantization(g.nodes[i], options)) continue;
    if (g.nodes[i].op_type == "Conv" && convs) {
      ir::Node conv = g.nodes[i];  // a copy: AddNode may reallocate the node list
      TERN_ASSIGN_OR_RETURN(bool done, QuantizeConvWeight(ed, conv, options, summary));
      if (!done) continue;
      g.nodes[i] = std::move(conv);
      ++summary->converted_weights;
      ++summary->quantized_nodes;
      continue;
    }
    const ir::Node n = g.nodes[i];  // a copy: AddNode may reallocate the node list
    int64_t k = 0, cols = 0;
    std::vector<float> w = WeightNK(g, n, &k, &cols);
    if (w.empty()) continue;
    TERN_ASSIGN_OR_RETURN(nbits::Int4Layout layout,
                          nbits::MakeLayout(k, cols, 4, options.int4_block_size));
    const int64_t blocks = layout.blocks_per_col();
    TERN_ASSIGN_OR_RETURN(
        Tensor codes, Tensor::Allocate(DataType::kUInt8, Shape{cols, blocks, layout.blob_size()}));
    TERN_ASSIGN_OR_RETURN(Tensor scales,
                          Tensor::Allocate(DataType::kFloat32, Shape{cols * blocks}));
    Tensor zp;
    if (!options.int4_symmetric) {
      TERN_ASSIGN_OR_RETURN(
          zp, Tensor::Allocate(DataType::kUInt8, Shape{cols * layout.zp_bytes_per_col()}));
    }
    for (int64_t c = 0; c < cols; ++c)
      nbits::QuantizeColumn(
          layout, w.data() + c * k, options.int4_symmetric,
          codes.data<uint8_t>() + c * layout.col_bytes(), scales.data<float>() + c * blocks,
          zp.defined() ? zp.data<uint8_t>() + c * layout.zp_bytes_per_col() : nullptr);
    summary->converted_bytes_before += static_cast<uint64_t>(w.size() * sizeof(float));
    summary->converted_bytes_after += codes.nbytes() + scales.nbytes() + zp.nbytes();

    const std::string wname = g.values[static_cast<size_t>(n.inputs[1])].name;
    std::vector<int> inputs = {n.inputs[0], ed.AddInitializer(wname + "_q4", std::move(codes)),
                               ed.AddInitializer(wname + "_q4_scales", std::move(scales))};
    if (zp.defined()) inputs.push_back(ed.AddInitializer(wname + "_q4_zero_points", std::move(zp)));
    std::vector<ir::Attribute> attrs = {IntAttr("K", k), IntAttr("N", cols), IntAttr("bits", 4),
                                        IntAttr("block_size", options.int4_block_size),
                                        IntAttr("accuracy_level", 0)};
    const int c_id = n.op_type == "Gemm" && n.inputs.size() > 2 ? n.inputs[2] : -1;
    if (c_id < 0) {
      ed.AddNode("MatMulNBits", inputs, {n.outputs[0]}, std::move(attrs), kMsDomain);
    } else {
      const std::string oname = g.values[static_cast<size_t>(n.outputs[0])].name;
      const int product = ed.AddValue(oname + "_matmul", DataType::kFloat32);
      ed.AddNode("MatMulNBits", inputs, {product}, std::move(attrs), kMsDomain);
      int bias = c_id;
      if (FloatWeight(g, c_id)) {
        TERN_ASSIGN_OR_RETURN(bias, ed.ScaledInitializer(c_id, AttrFloat(n, "beta", 1.0f)));
      }
      ed.AddNode("Add", {product, bias}, {n.outputs[0]});
    }
    erase[i] = true;
    ++summary->converted_weights;
    ++summary->quantized_nodes;
  }
  ed.EraseNodes(erase);
  return ed.Finish();
}

}  // namespace tern::compress
