// Constant folding: a node whose inputs are all constants is run once at load with the reference
// kernels and its outputs become initializers. Shape and Size of a value whose shape is statically
// known fold too, which collapses the Shape -> Gather -> Concat -> Reshape chains that exporters
// emit when the input shape is fixed. The optimizer re-runs type inference between sweeps so that
// shapes made known by one sweep let the next one fold further.
//
// In a subgraph, a value read from an enclosing graph (an outer reference) whose definition up
// the scope chain is an initializer a caller cannot override becomes an initializer of the
// subgraph (sharing its memory) first, so that nodes reading it fold like any other: exporters
// put weight re-layouts (LSTM gate Slice/Concat chains) inside If branches that read the
// weights of the enclosing graph, and those would otherwise run on every call.
//
// Not folded: random ops and Dropout (their output is not a function of the inputs), nodes with
// subgraphs, nodes that make a graph output (the output keeps its producer), and outputs larger
// than PassContext::max_folded_bytes (folding must not blow up memory).
#include <set>

#include "passes/node_eval.h"
#include "passes/passes.h"

namespace tern::passes {
namespace {

bool Deterministic(const ir::Node& n) {
  static const std::set<std::string> kRandom = {
      "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
      "Multinomial",  "Bernoulli",     "Dropout"};
  return !(n.domain.empty() && kRandom.count(n.op_type));
}

bool HasSubgraph(const ir::Node& n) {
  for (const auto& a : n.attrs)
    if (a.g || !a.graphs.empty()) return true;
  return false;
}

/// Shape (with opset-15 start/end) or Size of a statically shaped input.
bool FoldShapeOf(const ir::Graph& g, const ir::Node& n, Tensor* out) {
  if (!n.domain.empty() || (n.op_type != "Shape" && n.op_type != "Size")) return false;
  std::vector<int64_t> dims;
  if (n.inputs.empty() || !StaticShape(g, n.inputs[0], &dims)) return false;
  if (n.op_type == "Size") {
    int64_t size = 1;
    for (int64_t d : dims) size *= d;
    *out = Tensor::FromVector<int64_t>(DataType::kInt64, Shape{}, {size});
    return out->defined();
  }
  const int64_t rank = static_cast<int64_t>(dims.size());
  auto clamp = [rank](int64_t v) {
    if (v < 0) v += rank;
    return v < 0 ? 0 : (v > rank ? rank : v);
  };
  const ir::Attribute* s = n.attr("start");
  const ir::Attribute* e = n.attr("end");
  int64_t start = clamp(s && s->type == ir::AttrType::kInt ? s->i : 0);
  int64_t end = clamp(e && e->type == ir::AttrType::kInt ? e->i : rank);
  std::vector<int64_t> slice;
  for (int64_t i = start; i < end; ++i) slice.push_back(dims[i]);
  *out = Tensor::FromVector<int64_t>(DataType::kInt64, Shape{static_cast<int64_t>(slice.size())},
                                     slice);
  return out->defined();
}

/// The constant that `name` is bound to from the graphs enclosing `g`, or nullptr.
const Tensor* OuterConstant(const ir::Graph& g, const std::string& name) {
  for (const ir::Graph* scope = g.parent; scope; scope = scope->parent) {
    int v = scope->FindValue(name);
    if (v < 0) return nullptr;
    const ir::Value& val = scope->values[v];
    if (!val.is_outer) return ConstantOf(*scope, v);
  }
  return nullptr;
}

/// Turns outer references bound to constants into initializers of `g`; returns how many.
int ImportOuterConstants(ir::Graph& g) {
  int imported = 0;
  std::vector<int> still_outer;
  for (int ref : g.outer_refs) {
    ir::Value& val = g.values[ref];
    const Tensor* t = OuterConstant(g, val.name);
    if (!t) {
      still_outer.push_back(ref);
      continue;
    }
    val.is_outer = false;
    val.is_initializer = true;
    val.initializer = *t;
    ++imported;
  }
  g.outer_refs = std::move(still_outer);
  return imported;
}

class ConstantFolding : public Pass {
 public:
  const char* name() const override { return "constant_folding"; }
  const char* verb() const override { return "folded"; }

  Result<int> Run(ir::Graph& g, PassContext& ctx) const override {
    TERN_ASSIGN_OR_RETURN(auto ref, MakeProvider("ref"));
    ImportOuterConstants(g);
    UseIndex index(g);
    std::vector<bool> remove(g.nodes.size(), false);
    int folded = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const ir::Node& n = g.nodes[i];
      if (!Deterministic(n) || HasSubgraph(n) || !n.implicit_inputs.empty()) continue;
      if (KeepForQdqFusion(g, n, ctx, index)) continue;
      bool makes_output = false;
      for (int v : n.outputs) makes_output = makes_output || (v >= 0 && index.is_output[v]);
      if (makes_output) continue;
      std::vector<Tensor> results;
      Tensor shape_of;
      if (FoldShapeOf(g, n, &shape_of)) {
        results.push_back(std::move(shape_of));
      } else {
        bool all_constant = true;
        for (int v : n.inputs) all_constant = all_constant && (v < 0 || ConstantOf(g, v));
        if (!all_constant) continue;
        auto r = EvaluateNode(g, n, *ref, ctx.max_folded_bytes);
        if (!r.ok()) continue;  // not foldable (unsupported, too large, or fails): keep the node
        results = std::move(r).value();
      }
      for (size_t o = 0; o < n.outputs.size() && o < results.size(); ++o) {
        int v = n.outputs[o];
        if (v < 0) continue;
        ir::Value& val = g.values[v];
        val.is_initializer = true;
        val.initializer = std::move(results[o]);
        val.type = ir::TypeInfo();
        val.type.kind = ir::TypeInfo::Kind::kTensor;
        val.type.elem = val.initializer.dtype();
        val.type.has_shape = true;
        for (int64_t d : val.initializer.shape()) val.type.dims.push_back(ir::Dim{d, {}});
      }
      remove[i] = true;
      ++folded;
    }
    if (folded) RemoveNodes(g, remove);
    return folded;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeConstantFolding() { return std::make_unique<ConstantFolding>(); }

}  // namespace tern::passes
