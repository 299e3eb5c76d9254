// Dead code removal: drops nodes none of whose outputs is read by another node, a subgraph or the
// graph's outputs. One backward sweep removes whole dead chains, since removing a node may leave
// its producers without readers. Initializers left without readers (weights replaced by folded
// ones, intermediates of folded chains) are released so their memory can go.
#include "passes/passes.h"

namespace tern::passes {
namespace {

class DeadCode : public Pass {
 public:
  const char* name() const override { return "dead_code"; }
  const char* verb() const override { return "removed"; }

  Result<int> Run(ir::Graph& g, PassContext&) const override {
    std::vector<int> readers(g.values.size(), 0);
    for (const auto& n : g.nodes) {
      for (int v : n.inputs)
        if (v >= 0) ++readers[v];
      for (int v : n.implicit_inputs) ++readers[v];
    }
    for (int v : g.outputs) ++readers[v];
    std::vector<bool> remove(g.nodes.size(), false);
    int removed = 0;
    for (size_t k = g.nodes.size(); k-- > 0;) {
      const ir::Node& n = g.nodes[k];
      bool live = false;
      for (int v : n.outputs) live = live || (v >= 0 && readers[v] > 0);
      if (live) continue;
      remove[k] = true;
      ++removed;
      for (int v : n.inputs)
        if (v >= 0) --readers[v];
      for (int v : n.implicit_inputs) --readers[v];
    }
    if (removed) RemoveNodes(g, remove);
    for (size_t v = 0; v < g.values.size(); ++v) {
      ir::Value& val = g.values[v];
      if (val.is_initializer && !val.is_input && readers[v] == 0) {
        val.is_initializer = false;
        val.initializer = Tensor();
      }
    }
    return removed;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeDeadCode() { return std::make_unique<DeadCode>(); }

}  // namespace tern::passes
