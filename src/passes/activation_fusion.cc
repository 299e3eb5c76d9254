// Activation fusion: float32 Conv, Gemm or MatMul followed by an activation becomes one ai.tern
// FusedConv / FusedGemm / FusedMatMul node (the contract is in ep/ref/fused_util.h), so the
// activation runs while the output is still in cache. Recognised activations: Relu, Clip (bounds
// from constants or attributes), LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh, and HardSwish
// as exporters spell it out: x * HardSigmoid(x; 1/6, 1/2), x * Clip(x + 3, 0, 6) / 6 and
// (x * Clip(x + 3, 0, 6)) / 6.
#include <cmath>
#include <limits>

#include "passes/passes.h"

namespace tern::passes {
namespace {

struct Match {
  std::string activation;
  std::vector<float> params;
  std::vector<int> nodes;  ///< nodes the fused node replaces
  int result = -1;         ///< value the fused node writes
};

bool ScalarNear(const ir::Graph& g, int value, float want) {
  const Tensor* t = ConstantOf(g, value);
  return t && t->dtype() == DataType::kFloat32 && t->numel() == 1 &&
         std::fabs(t->data<float>()[0] - want) <= 1e-6f * std::max(1.0f, std::fabs(want));
}

/// Clip bounds from attributes (opset < 11) or constant scalar inputs; false when not constant.
bool ClipBounds(const ir::Graph& g, const ir::Node& n, float* lo, float* hi) {
  *lo = -std::numeric_limits<float>::infinity();
  *hi = std::numeric_limits<float>::infinity();
  if (n.opset < 11) {
    if (const ir::Attribute* a = n.attr("min")) *lo = a->f;
    if (const ir::Attribute* a = n.attr("max")) *hi = a->f;
    return true;
  }
  for (size_t k = 1; k < n.inputs.size() && k < 3; ++k) {
    if (n.inputs[k] < 0) continue;
    const Tensor* t = ConstantOf(g, n.inputs[k]);
    if (!t || t->dtype() != DataType::kFloat32 || t->numel() != 1) return false;
    (k == 1 ? *lo : *hi) = t->data<float>()[0];
  }
  return true;
}

float AttrF(const ir::Node& n, const char* name, float fallback) {
  const ir::Attribute* a = n.attr(name);
  return a && a->type == ir::AttrType::kFloat ? a->f : fallback;
}

class Matcher {
 public:
  Matcher(const ir::Graph& g, const UseIndex& index, const std::vector<bool>& busy)
      : g_(g), index_(index), busy_(busy) {}

  /// The only reader of `v` (a node index), or -1.
  int Reader(int v) const {
    if (!index_.SingleUse(v)) return -1;
    int r = index_.uses[v][0].first;
    return busy_[r] || !g_.nodes[r].domain.empty() ? -1 : r;
  }
  const ir::Node& node(int i) const { return g_.nodes[i]; }
  /// The other input of a two-input node whose input is `v`, or -1.
  int Other(int node_index, int v) const {
    const ir::Node& n = g_.nodes[node_index];
    if (n.inputs.size() != 2) return -1;
    if (n.inputs[0] == v && n.inputs[1] != v) return n.inputs[1];
    if (n.inputs[1] == v && n.inputs[0] != v) return n.inputs[0];
    return -1;
  }

  bool Simple(int v, Match* m) const {
    int r = Reader(v);
    if (r < 0) return false;
    const ir::Node& n = node(r);
    if (n.inputs.empty() || n.inputs[0] != v || n.outputs.size() != 1) return false;
    if (n.op_type == "Relu" || n.op_type == "Sigmoid" || n.op_type == "Tanh" ||
        n.op_type == "HardSwish") {
      m->activation = n.op_type;
    } else if (n.op_type == "LeakyRelu") {
      m->activation = n.op_type;
      m->params = {AttrF(n, "alpha", 0.01f)};
    } else if (n.op_type == "HardSigmoid") {
      m->activation = n.op_type;
      m->params = {AttrF(n, "alpha", 0.2f), AttrF(n, "beta", 0.5f)};
    } else if (n.op_type == "Clip") {
      float lo, hi;
      if (!ClipBounds(g_, n, &lo, &hi)) return false;
      m->activation = n.op_type;
      m->params = {lo, hi};
    } else {
      return false;
    }
    m->nodes = {r};
    m->result = n.outputs[0];
    return true;
  }

  /// x has exactly two readers: the start of the gate and the multiply.
  bool SpelledHardSwish(int x, Match* m) const {
    const auto& uses = index_.uses[x];
    if (index_.is_output[x] || uses.size() != 2) return false;
    for (int first = 0; first < 2; ++first) {
      const int a = uses[first].first, mul = uses[1 - first].first;
      if (a == mul || busy_[a] || busy_[mul] || uses[first].second < 0 ||
          uses[1 - first].second < 0)
        continue;
      const ir::Node& na = node(a);
      const ir::Node& nm = node(mul);
      if (!na.domain.empty() || !nm.domain.empty() || nm.op_type != "Mul" || na.outputs.size() != 1)
        continue;
      if (na.op_type == "HardSigmoid" && na.inputs[0] == x &&
          std::fabs(AttrF(na, "alpha", 0.2f) - 1.0f / 6) < 1e-6f &&
          std::fabs(AttrF(na, "beta", 0.5f) - 0.5f) < 1e-6f && Reader(na.outputs[0]) == mul &&
          Other(mul, x) == na.outputs[0]) {
        *m = {"HardSwish", {}, {a, mul}, nm.outputs[0]};
        return true;
      }
      if (na.op_type != "Add" || !ScalarNear(g_, Other(a, x), 3.0f)) continue;
      const int clip = Reader(na.outputs[0]);
      float lo, hi;
      if (clip < 0 || node(clip).op_type != "Clip" || node(clip).inputs[0] != na.outputs[0] ||
          !ClipBounds(g_, node(clip), &lo, &hi) || lo != 0.0f || hi != 6.0f)
        continue;
      const int gate = node(clip).outputs[0];
      const int scale = Reader(gate);
      if (scale < 0) continue;
      const ir::Node& ns = node(scale);
      if (scale == mul && Other(mul, x) == gate) {  // (x * clip) / 6
        const int div = Reader(nm.outputs[0]);
        if (div < 0 || node(div).op_type != "Div" || node(div).inputs[0] != nm.outputs[0] ||
            !ScalarNear(g_, node(div).inputs[1], 6.0f))
          continue;
        *m = {"HardSwish", {}, {a, clip, mul, div}, node(div).outputs[0]};
        return true;
      }
      const bool div6 =
          ns.op_type == "Div" && ns.inputs[0] == gate && ScalarNear(g_, ns.inputs[1], 6.0f);
      const bool mul6 = ns.op_type == "Mul" && ScalarNear(g_, Other(scale, gate), 1.0f / 6);
      if ((!div6 && !mul6) || Reader(ns.outputs[0]) != mul || Other(mul, x) != ns.outputs[0])
        continue;
      *m = {"HardSwish", {}, {a, clip, scale, mul}, nm.outputs[0]};
      return true;
    }
    return false;
  }

 private:
  const ir::Graph& g_;
  const UseIndex& index_;
  const std::vector<bool>& busy_;
};

class ActivationFusion : public Pass {
 public:
  const char* name() const override { return "activation_fusion"; }
  const char* verb() const override { return "fused"; }

  Result<int> Run(ir::Graph& g, PassContext& ctx) const override {
    UseIndex index(g);
    std::vector<bool> busy(g.nodes.size(), false);
    Matcher matcher(g, index, busy);
    int fused = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      ir::Node& n = g.nodes[i];
      if (busy[i] || !n.domain.empty() || n.outputs.size() != 1 || n.outputs[0] < 0 ||
          (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul"))
        continue;
      if (n.op_type == "Gemm" && n.opset < 7) continue;  // old Gemm's broadcast attribute
      const int out = n.outputs[0];
      if (g.values[out].type.elem != DataType::kFloat32) continue;
      Match m;
      if (!matcher.Simple(out, &m) && !matcher.SpelledHardSwish(out, &m)) continue;
      for (int k : m.nodes) busy[k] = true;
      busy[i] = true;
      n.op_type = "Fused" + n.op_type;
      n.domain = "ai.tern";
      n.opset = 1;
      ir::Attribute act;
      act.name = "activation";
      act.type = ir::AttrType::kString;
      act.s = m.activation;
      n.attrs.push_back(std::move(act));
      ir::Attribute params;
      params.name = "activation_params";
      params.type = ir::AttrType::kFloats;
      params.floats = m.params;
      n.attrs.push_back(std::move(params));
      n.outputs[0] = m.result;
      ++fused;
    }
    if (!fused) return 0;
    if (ctx.opsets) (*ctx.opsets)["ai.tern"] = 1;
    std::vector<bool> remove(g.nodes.size(), false);
    for (size_t i = 0; i < g.nodes.size(); ++i)
      remove[i] = busy[i] && g.nodes[i].domain != "ai.tern";
    RemoveNodes(g, remove);
    return fused;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeActivationFusion() { return std::make_unique<ActivationFusion>(); }

}  // namespace tern::passes
