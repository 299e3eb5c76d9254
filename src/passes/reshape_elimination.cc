// Reshape elimination. Reshape, Flatten, Squeeze and Unsqueeze only relabel the dims of a
// contiguous tensor, so:
//  - one whose output shape equals its input shape (both static) is dropped;
//  - a chain of two (the first's result read only by the second) becomes one Reshape of the
//    first's input, to the second's static output shape (or to its constant shape input when that
//    has no 0, which would copy a dim of the intermediate).
#include <set>

#include "passes/passes.h"

namespace tern::passes {
namespace {

bool IsShapeOnly(const ir::Node& n) {
  static const std::set<std::string> kOps = {"Reshape", "Flatten", "Squeeze", "Unsqueeze"};
  return n.domain.empty() && kOps.count(n.op_type) && !n.inputs.empty() && n.inputs[0] >= 0 &&
         n.outputs.size() == 1 && n.outputs[0] >= 0;
}

class ReshapeElimination : public Pass {
 public:
  const char* name() const override { return "reshape_elimination"; }
  const char* verb() const override { return "removed"; }

  Result<int> Run(ir::Graph& g, PassContext& ctx) const override {
    UseIndex index(g);
    std::vector<bool> remove(g.nodes.size(), false), touched(g.nodes.size(), false);
    int removed = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      ir::Node& n = g.nodes[i];
      if (!IsShapeOnly(n)) continue;
      const int in = n.inputs[0], out = n.outputs[0];
      std::vector<int64_t> in_dims, out_dims;
      const bool out_static = StaticShape(g, out, &out_dims);
      if (out_static && StaticShape(g, in, &in_dims) && in_dims == out_dims) {
        if (Bypass(g, index, remove, static_cast<int>(i), in, out)) {
          remove[i] = touched[i] = true;
          ++removed;
        }
        continue;
      }
      // A chain: the producer of `in` is shape-only too and `in` has no other reader.
      const int p = g.values[in].producer;
      if (p < 0 || remove[p] || touched[p] || !IsShapeOnly(g.nodes[p]) || !index.SingleUse(in) ||
          n.opset < 5)
        continue;
      const int source = g.nodes[p].inputs[0];
      int shape_value = -1;
      bool has_zero = false;
      for (int64_t d : out_dims) has_zero = has_zero || d == 0;
      if (out_static && !has_zero) {
        shape_value = AddInitializer(
            g, ctx, g.values[out].name + "_shape",
            Tensor::FromVector<int64_t>(DataType::kInt64,
                                        Shape{static_cast<int64_t>(out_dims.size())}, out_dims));
      } else if (n.op_type == "Reshape" && n.inputs.size() > 1) {
        std::vector<int64_t> target;
        if (!ConstantInts(g, n.inputs[1], &target)) continue;
        for (int64_t d : target) has_zero = has_zero || d == 0;
        if (has_zero) continue;
        shape_value = n.inputs[1];
      } else {
        continue;
      }
      // `n` becomes Reshape(source, shape); the producer loses its only reader.
      n.op_type = "Reshape";
      n.inputs = {source, shape_value};
      n.attrs.clear();
      remove[p] = touched[i] = true;
      ++removed;
    }
    if (removed) RemoveNodes(g, remove);
    return removed;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeReshapeElimination() { return std::make_unique<ReshapeElimination>(); }

}  // namespace tern::passes
