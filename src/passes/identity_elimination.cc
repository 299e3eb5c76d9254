// Identity elimination: Identity, and Dropout in inference (no training_mode input, or a constant
// false one, and the mask unused), pass their input through; readers are pointed at the input.
#include "passes/passes.h"

namespace tern::passes {
namespace {

/// True for a Dropout that is the identity at inference time.
bool InferenceDropout(const ir::Graph& g, const ir::Node& n, const UseIndex& index) {
  if (n.op_type != "Dropout" || n.opset < 7) return false;
  if (n.outputs.size() > 1 && n.outputs[1] >= 0 &&
      (!index.uses[n.outputs[1]].empty() || index.is_output[n.outputs[1]]))
    return false;
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Tensor* t = ConstantOf(g, n.inputs[2]);
    if (!t || t->dtype() != DataType::kBool || t->numel() != 1 || t->data<bool>()[0]) return false;
  }
  return true;
}

class IdentityElimination : public Pass {
 public:
  const char* name() const override { return "identity_elimination"; }
  const char* verb() const override { return "removed"; }

  Result<int> Run(ir::Graph& g, PassContext&) const override {
    UseIndex index(g);
    std::vector<bool> remove(g.nodes.size(), false);
    int removed = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const ir::Node& n = g.nodes[i];
      if (!n.domain.empty() || n.inputs.empty() || n.inputs[0] < 0 || n.outputs.empty() ||
          n.outputs[0] < 0)
        continue;
      if (n.op_type != "Identity" && !InferenceDropout(g, n, index)) continue;
      // Sequences and optionals pass through Identity too; only tensors are rewired.
      if (g.values[n.inputs[0]].type.kind != ir::TypeInfo::Kind::kTensor) continue;
      if (!Bypass(g, index, remove, static_cast<int>(i), n.inputs[0], n.outputs[0])) continue;
      remove[i] = true;
      ++removed;
    }
    if (removed) RemoveNodes(g, remove);
    return removed;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeIdentityElimination() { return std::make_unique<IdentityElimination>(); }

}  // namespace tern::passes
