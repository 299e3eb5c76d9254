// QDQ fusion: the QuantizeLinear/DequantizeLinear (QDQ) form that `tern quantize --mode
// int8-static` and other quantizers write runs its products on integers:
//
//   DequantizeLinear(x_q) --+
//   DequantizeLinear(w_q) --+-> Conv | MatMul | Gemm [+ fused activation] [-> QuantizeLinear]
//   [bias, or DequantizeLinear(int32 bias)]
//
// becomes one ai.tern QConv or QMatMul (contract in ep/ref/ops/qfused.cc) that reads x_q and w_q
// directly: an int32 product, then the float bias, activation and, when the only reader of the
// result is a per-tensor QuantizeLinear, the requantization into that node's output. The pass
// runs after activation fusion (so FusedConv/FusedGemm/FusedMatMul carry their activation in),
// and constant folding leaves the weight DequantizeLinear nodes alone while this pass is enabled
// (PassContext::keep_weight_dequantize). A weight DequantizeLinear that still has readers after
// the rewrite (its node did not match: x not quantized, Gemm with alpha, ...) is folded to a
// float initializer here, as constant folding would have done. Unfused QuantizeLinear and
// DequantizeLinear nodes of activations stay and keep their meaning.
#include "passes/node_eval.h"
#include "passes/passes.h"

namespace tern::passes {
namespace {

bool Is8Bit(DataType t) { return t == DataType::kUInt8 || t == DataType::kInt8; }

const ir::Node* ProducerOp(const ir::Graph& g, int v, const char* op) {
  if (v < 0 || g.values[v].producer < 0) return nullptr;
  const ir::Node& n = g.nodes[g.values[v].producer];
  return n.domain.empty() && n.op_type == op ? &n : nullptr;
}

int64_t IntAttr(const ir::Node& n, const char* name, int64_t fallback) {
  const ir::Attribute* a = n.attr(name);
  return a && a->type == ir::AttrType::kInt ? a->i : fallback;
}

float FloatAttr(const ir::Node& n, const char* name, float fallback) {
  const ir::Attribute* a = n.attr(name);
  return a && a->type == ir::AttrType::kFloat ? a->f : fallback;
}

/// Input k of n, or -1 when absent.
int In(const ir::Node& n, size_t k) { return k < n.inputs.size() ? n.inputs[k] : -1; }

/// A per-tensor float32 scale and optional 8-bit zero point (constants), as inputs 1 and 2 of a
/// QuantizeLinear or DequantizeLinear; `type` is the zero point's type (uint8 when absent).
bool ScalarParams(const ir::Graph& g, const ir::Node& n, DataType* type) {
  const Tensor* s = ConstantOf(g, In(n, 1));
  if (!s || s->dtype() != DataType::kFloat32 || s->numel() != 1) return false;
  *type = DataType::kUInt8;
  if (In(n, 2) < 0) return true;
  const Tensor* z = ConstantOf(g, In(n, 2));
  if (!z || !Is8Bit(z->dtype()) || z->numel() != 1) return false;
  *type = z->dtype();
  return true;
}

/// The weight DequantizeLinear: constant 8-bit data, per-tensor parameters or per-channel ones on
/// `channel_axis` (of a weight of rank `rank`).
bool WeightDq(const ir::Graph& g, const ir::Node& dq, int64_t channel_axis, size_t min_rank,
              size_t max_rank) {
  const Tensor* w = ConstantOf(g, In(dq, 0));
  const Tensor* s = ConstantOf(g, In(dq, 1));
  const Tensor* z = In(dq, 2) >= 0 ? ConstantOf(g, In(dq, 2)) : nullptr;
  if (!w || !s || (In(dq, 2) >= 0 && !z) || !Is8Bit(w->dtype()) ||
      s->dtype() != DataType::kFloat32 || w->rank() < min_rank || w->rank() > max_rank)
    return false;
  if (IntAttr(dq, "block_size", 0) != 0) return false;
  if (z && (z->dtype() != w->dtype() || z->numel() != s->numel())) return false;
  if (s->numel() == 1) return true;
  int64_t axis = IntAttr(dq, "axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(w->rank());
  return s->rank() == 1 && axis == channel_axis && s->numel() == w->dim(static_cast<size_t>(axis));
}

class QdqFusion : public Pass {
 public:
  const char* name() const override { return "qdq_fusion"; }
  const char* verb() const override { return "fused"; }

  Result<int> Run(ir::Graph& g, PassContext& ctx) const override {
    UseIndex index(g);
    std::vector<bool> remove(g.nodes.size(), false);
    int fused = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i)
      if (!remove[i] && Fuse(g, ctx, index, i, &remove)) ++fused;
    if (fused) {
      if (ctx.opsets) (*ctx.opsets)["ai.tern"] = 1;
      RemoveNodes(g, remove);
    }
    TERN_ASSIGN_OR_RETURN(int folded, FoldLeftoverWeights(g, ctx));
    return fused + folded;
  }

 private:
  bool Fuse(ir::Graph& g, PassContext& ctx, const UseIndex& index, size_t i,
            std::vector<bool>* remove) const {
    const ir::Node& n = g.nodes[i];
    const bool tern = n.domain == "ai.tern";
    if (!n.domain.empty() && !tern) return false;
    std::string base = n.op_type;
    if (tern) {
      if (base.rfind("Fused", 0) != 0) return false;
      base = base.substr(5);
    }
    if (base != "Conv" && base != "MatMul" && base != "Gemm") return false;
    if (n.outputs.size() != 1 || n.outputs[0] < 0 ||
        g.values[n.outputs[0]].type.elem != DataType::kFloat32)
      return false;
    const ir::Node* dx = ProducerOp(g, In(n, 0), "DequantizeLinear");
    const ir::Node* dw = ProducerOp(g, In(n, 1), "DequantizeLinear");
    DataType x_zero_type;
    if (!dx || !dw || !ScalarParams(g, *dx, &x_zero_type) ||
        g.values[In(*dx, 0)].type.elem != x_zero_type)
      return false;
    const bool trans_b = base == "Gemm" && IntAttr(n, "transB", 0) != 0;
    int bias = -1;
    if (base == "Conv") {
      if (!WeightDq(g, *dw, 0, 3, 4) || !ConvBias(g, ctx, n, &bias)) return false;
    } else {
      if (!WeightDq(g, *dw, trans_b ? 0 : 1, 2, 2)) return false;
      if (base == "Gemm" && !GemmBias(g, ctx, n, &bias)) return false;
    }
    // The output: requantized in place of a per-tensor QuantizeLinear that is its only reader.
    int out = n.outputs[0], y_scale = -1, y_zero = -1, q_node = -1;
    if (index.SingleUse(out)) {
      const int r = index.uses[out][0].first;
      const ir::Node& q = g.nodes[r];
      DataType t;
      if (!(*remove)[r] && q.domain.empty() && q.op_type == "QuantizeLinear" &&
          q.inputs[0] == out && In(q, 2) >= 0 && ScalarParams(g, q, &t) &&
          IntAttr(q, "output_dtype", 0) == 0 && q.outputs.size() == 1) {
        q_node = r;
        y_scale = In(q, 1);
        y_zero = In(q, 2);
        out = q.outputs[0];
      }
    }
    ir::Node fused;
    fused.name = n.name;
    fused.op_type = base == "Conv" ? "QConv" : "QMatMul";
    fused.domain = "ai.tern";
    fused.opset = 1;
    fused.inputs = {In(*dx, 0), In(*dx, 1), In(*dx, 2), In(*dw, 0), In(*dw, 1),
                    In(*dw, 2), bias,       y_scale,    y_zero};
    while (!fused.inputs.empty() && fused.inputs.back() < 0) fused.inputs.pop_back();
    fused.outputs = {out};
    for (const ir::Attribute& a : n.attrs) {
      const bool activation = a.name == "activation" || a.name == "activation_params";
      if (base == "Conv" || activation) fused.attrs.push_back(a);
    }
    if (trans_b) {
      ir::Attribute t;
      t.name = "transB";
      t.type = ir::AttrType::kInt;
      t.i = 1;
      fused.attrs.push_back(std::move(t));
    }
    g.nodes[i] = std::move(fused);
    if (q_node >= 0) (*remove)[q_node] = true;
    return true;
  }

  /// Conv's bias as a float32 [M] value: absent, a float constant, or a DequantizeLinear of an
  /// int32 constant (made float here, as the reference DequantizeLinear computes it).
  static bool ConvBias(ir::Graph& g, PassContext& ctx, const ir::Node& n, int* bias) {
    const int b = In(n, 2);
    *bias = -1;
    if (b < 0) return true;
    if (const Tensor* t = ConstantOf(g, b)) {
      *bias = b;
      return t->dtype() == DataType::kFloat32 && t->rank() == 1;
    }
    const ir::Node* dq = ProducerOp(g, b, "DequantizeLinear");
    if (!dq) return false;
    const Tensor* q = ConstantOf(g, In(*dq, 0));
    const Tensor* s = ConstantOf(g, In(*dq, 1));
    if (!q || !s || In(*dq, 2) >= 0 || q->dtype() != DataType::kInt32 || q->rank() != 1 ||
        s->dtype() != DataType::kFloat32 || (s->numel() != 1 && s->numel() != q->numel()))
      return false;
    auto f = Tensor::Allocate(DataType::kFloat32, q->shape());
    if (!f.ok()) return false;
    for (int64_t c = 0; c < q->numel(); ++c)
      f->data<float>()[c] =
          static_cast<float>(q->data<int32_t>()[c]) * s->data<float>()[s->numel() == 1 ? 0 : c];
    *bias = AddInitializer(g, ctx, g.values[b].name, std::move(f).value());
    return true;
  }

  /// Gemm: A not transposed, alpha 1, and C absent or a float constant with one value per column
  /// (made 1-D, scaled by beta).
  static bool GemmBias(ir::Graph& g, PassContext& ctx, const ir::Node& n, int* bias) {
    *bias = -1;
    if (n.opset < 7 || IntAttr(n, "transA", 0) != 0 || FloatAttr(n, "alpha", 1.0f) != 1.0f)
      return false;
    const int c = In(n, 2);
    if (c < 0) return true;
    const Tensor* t = ConstantOf(g, c);
    const Tensor* w = ConstantOf(g, In(*ProducerOp(g, In(n, 1), "DequantizeLinear"), 0));
    const int64_t cols = IntAttr(n, "transB", 0) ? w->dim(0) : w->dim(1);
    if (!t || t->dtype() != DataType::kFloat32 || t->numel() != cols ||
        (t->rank() == 2 && t->dim(0) != 1) || t->rank() > 2)
      return false;
    auto f = Tensor::Allocate(DataType::kFloat32, Shape{cols});
    if (!f.ok()) return false;
    const float beta = FloatAttr(n, "beta", 1.0f);
    for (int64_t j = 0; j < cols; ++j) f->data<float>()[j] = t->data<float>()[j] * beta;
    *bias = AddInitializer(g, ctx, g.values[c].name, std::move(f).value());
    return true;
  }

  /// DequantizeLinear nodes of constants that still have readers become float initializers.
  static Result<int> FoldLeftoverWeights(ir::Graph& g, PassContext& ctx) {
    UseIndex index(g);
    std::shared_ptr<ExecutionProvider> ref;
    std::vector<bool> remove(g.nodes.size(), false);
    int folded = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      const ir::Node& n = g.nodes[i];
      if (!n.domain.empty() || n.op_type != "DequantizeLinear" || n.outputs.size() != 1 ||
          n.outputs[0] < 0 || index.uses[n.outputs[0]].empty() || index.is_output[n.outputs[0]])
        continue;
      bool constant = true;
      for (int v : n.inputs) constant = constant && (v < 0 || ConstantOf(g, v));
      if (!constant) continue;
      if (!ref) {
        TERN_ASSIGN_OR_RETURN(auto p, MakeProvider("ref"));
        ref = std::move(p);
      }
      auto r = EvaluateNode(g, n, *ref, ctx.max_folded_bytes);
      if (!r.ok() || r->empty()) continue;
      ir::Value& val = g.values[n.outputs[0]];
      val.is_initializer = true;
      val.initializer = std::move((*r)[0]);
      remove[i] = true;
      ++folded;
    }
    if (folded) RemoveNodes(g, remove);
    return folded;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeQdqFusion() { return std::make_unique<QdqFusion>(); }

bool KeepForQdqFusion(const ir::Graph& g, const ir::Node& n, const PassContext& ctx,
                      const UseIndex& index) {
  if (!ctx.keep_weight_dequantize || !n.domain.empty() || n.op_type != "DequantizeLinear" ||
      n.outputs.empty() || n.outputs[0] < 0)
    return false;
  const auto& uses = index.uses[n.outputs[0]];
  if (uses.empty()) return false;
  for (const auto& [node, slot] : uses) {
    const ir::Node& r = g.nodes[node];
    std::string op = r.op_type;
    if (r.domain == "ai.tern" && op.rfind("Fused", 0) == 0)
      op = op.substr(5);
    else if (!r.domain.empty())
      return false;
    if ((op != "Conv" && op != "MatMul" && op != "Gemm") || slot < 1) return false;
  }
  return true;
}

}  // namespace tern::passes
