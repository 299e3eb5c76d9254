// fp16 weights: each float32 initializer that is large enough and finite in float16 is stored
// as float16 and turned back into float32 by a Cast node that takes over its name, so consumers
// are untouched and every op still computes in float32.
#include <cmath>

#include "compress/graph_edit.h"
#include "compress/quantize.h"
#include "core/float16.h"

namespace tern::compress {

namespace {

// Ops whose float inputs are parameters rather than data (scales, ranges), which must stay
// exact float32 constants for shape inference.
const std::set<std::string> kFp16BlockedOps = {"Resize", "Upsample", "Range", "ConstantOfShape"};

bool FitsHalf(const Tensor& t) {
  const float* x = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(x[i]) || std::fabs(x[i]) > 65504.0f) return false;
  return true;
}

}  // namespace

Status QuantizeFp16(ir::Model& model, const QuantizeOptions& options, QuantizeSummary* summary) {
  GraphEditor ed(model);
  ir::Graph& g = ed.graph();
  std::vector<bool> blocked(g.values.size(), false);
  for (const ir::Node& n : g.nodes) {
    const bool skip = kFp16BlockedOps.count(n.op_type) || options.exclude_ops.count(n.op_type) ||
                      options.exclude_nodes.count(n.name);
    for (int i : n.inputs)
      if (i >= 0 && skip) blocked[static_cast<size_t>(i)] = true;
    // Subgraphs read these by name; keep their type.
    for (int i : n.implicit_inputs) blocked[static_cast<size_t>(i)] = true;
  }
  for (int o : g.outputs) blocked[static_cast<size_t>(o)] = true;
  const size_t count = g.values.size();
  for (size_t id = 0; id < count; ++id) {
    const ir::Value& v = g.values[id];
    if (!v.is_initializer || v.is_input || blocked[id]) continue;
    if (v.initializer.dtype() != DataType::kFloat32) continue;
    if (v.initializer.numel() < options.fp16_min_elements || !FitsHalf(v.initializer)) continue;
    TERN_ASSIGN_OR_RETURN(Tensor half, Tensor::Allocate(DataType::kFloat16, v.initializer.shape()));
    const float* x = v.initializer.data<float>();
    for (int64_t i = 0; i < half.numel(); ++i) half.data<uint16_t>()[i] = FloatToHalfBits(x[i]);
    const std::string name = v.name;
    int half_id = ed.AddInitializer(name + "_fp16", std::move(half));
    ir::Value& old = g.values[id];  // AddInitializer may have grown the vector
    old.is_initializer = false;
    old.initializer = Tensor();
    ed.AddNode("Cast", {half_id}, {static_cast<int>(id)}, {IntAttr("to", 1)});
    ++summary->converted_weights;
  }
  return ed.Finish();
}

}  // namespace tern::compress
