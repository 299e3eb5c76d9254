// int4-weights: MatMul(A, B) and Gemm(A, B, C) with a constant 2-D B become com.microsoft
// MatMulNBits(A, codes, scales[, zero_points]), the weight-only 4-bit op of ONNX Runtime, so both
// runtimes run the file. MatMulNBits stores W as [N, K] (one row per output column), which is
// B transposed for MatMul and for Gemm with transB=0, and B itself for transB=1. Gemm's alpha is
// folded into W before quantization; beta * C becomes an Add after the MatMulNBits (ORT's bias
// input is newer than some runtimes in the field, and an Add also covers every broadcast of C).
// Gemm with transA=1 stays float.
#include <string>
#include <vector>

#include "compress/graph_edit.h"
#include "compress/quantize.h"
#include "core/nbits.h"

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

}  // namespace

Status QuantizeInt4Weights(ir::Model& model, const QuantizeOptions& options,
                           QuantizeSummary* summary) {
  if (model.opsets.find(kMsDomain) == model.opsets.end()) model.opsets[kMsDomain] = 1;
  GraphEditor ed(model);
  ir::Graph& g = ed.graph();
  const size_t original_nodes = g.nodes.size();
  std::vector<bool> erase(original_nodes, false);
  for (size_t i = 0; i < original_nodes; ++i) {
    const ir::Node n = g.nodes[i];  // a copy: AddNode may reallocate the node list
    if (ExcludedFromQuantization(n, options)) continue;
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
