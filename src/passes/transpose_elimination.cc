// Transpose elimination: a Transpose with the identity permutation is dropped, and
// Transpose(Transpose(x, p1), p2), where the inner result has no other reader, becomes
// Transpose(x, q) with q[i] = p1[p2[i]] (dropped as well when q is the identity).
#include "passes/passes.h"

namespace tern::passes {
namespace {

bool IsTranspose(const ir::Node& n) {
  return n.domain.empty() && n.op_type == "Transpose" && !n.inputs.empty() && n.inputs[0] >= 0 &&
         n.outputs.size() == 1 && n.outputs[0] >= 0;
}

/// The permutation, or the default reversal when the attribute is absent and the rank is known.
bool Perm(const ir::Graph& g, const ir::Node& n, std::vector<int64_t>* perm) {
  const ir::Attribute* a = n.attr("perm");
  if (a) {
    *perm = a->ints;
    return true;
  }
  const ir::TypeInfo& t = g.values[n.inputs[0]].type;
  if (t.kind != ir::TypeInfo::Kind::kTensor || !t.has_shape) return false;
  const int64_t rank = static_cast<int64_t>(t.dims.size());
  perm->clear();
  for (int64_t i = rank - 1; i >= 0; --i) perm->push_back(i);
  return true;
}

bool IsIdentity(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

class TransposeElimination : public Pass {
 public:
  const char* name() const override { return "transpose_elimination"; }
  const char* verb() const override { return "removed"; }

  Result<int> Run(ir::Graph& g, PassContext&) const override {
    UseIndex index(g);
    std::vector<bool> remove(g.nodes.size(), false), touched(g.nodes.size(), false);
    int removed = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      ir::Node& n = g.nodes[i];
      std::vector<int64_t> perm;
      if (!IsTranspose(n) || !Perm(g, n, &perm)) continue;
      if (IsIdentity(perm)) {
        if (Bypass(g, index, remove, static_cast<int>(i), n.inputs[0], n.outputs[0])) {
          remove[i] = touched[i] = true;
          ++removed;
        }
        continue;
      }
      const int in = n.inputs[0];
      const int p = g.values[in].producer;
      std::vector<int64_t> inner;
      if (p < 0 || remove[p] || touched[p] || !IsTranspose(g.nodes[p]) || !index.SingleUse(in) ||
          !Perm(g, g.nodes[p], &inner) || inner.size() != perm.size())
        continue;
      std::vector<int64_t> composed(perm.size());
      bool valid = true;
      for (size_t k = 0; k < perm.size(); ++k) {
        valid = valid && perm[k] >= 0 && perm[k] < static_cast<int64_t>(inner.size());
        if (valid) composed[k] = inner[perm[k]];
      }
      if (!valid) continue;
      const int source = g.nodes[p].inputs[0];
      remove[p] = true;
      ++removed;
      if (IsIdentity(composed) &&
          Bypass(g, index, remove, static_cast<int>(i), source, n.outputs[0])) {
        remove[i] = true;
        ++removed;
        continue;
      }
      n.inputs[0] = source;
      n.attrs.clear();
      n.attrs.push_back(ir::IntsAttr("perm", composed));
      touched[i] = true;
    }
    if (removed) RemoveNodes(g, remove);
    return removed;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeTransposeElimination() {
  return std::make_unique<TransposeElimination>();
}

}  // namespace tern::passes
