// Weight folding (inference): float32 Conv followed by BatchNormalization, or by Mul / Add with a
// per-output-channel constant, becomes one Conv with rewritten weights and bias:
//   BN:  s = scale / sqrt(var + eps);  W' = W * s[m];  B' = (B - mean) * s[m] + bias
//   Mul: W' = W * c[m];  B' = B * c[m]        Add: B' = B + c[m]
// The Conv's weights (and bias, when present) must be constants and the Conv's result must have
// no reader besides the folded node. New weights are new initializers; the old ones are left for
// dead code removal to ignore (they cost nothing once no node reads them). A Conv whose weights
// are DequantizeLinear(int8) folds the factors into the per-channel weight scales instead.
#include <cmath>

#include "passes/passes.h"

namespace tern::passes {
namespace {

const Tensor* FloatConstant(const ir::Graph& g, const ir::Node& n, size_t slot) {
  if (slot >= n.inputs.size()) return nullptr;
  const Tensor* t = ConstantOf(g, n.inputs[slot]);
  return t && t->dtype() == DataType::kFloat32 ? t : nullptr;
}

/// `c` as one value per channel of an output of rank `rank` with `channels` channels at dim 1;
/// false when `c` varies along any other dim or would grow the output's rank.
bool PerChannel(const Tensor& c, size_t rank, int64_t channels, std::vector<float>* out) {
  if (c.dtype() != DataType::kFloat32 || c.rank() > rank) return false;
  const size_t pad = rank - c.rank();
  int64_t along = 1;
  for (size_t d = 0; d < c.rank(); ++d) {
    const int64_t dim = c.dim(d);
    if (d + pad == 1) {
      if (dim != 1 && dim != channels) return false;
      along = dim;
    } else if (dim != 1) {
      return false;
    }
  }
  out->resize(static_cast<size_t>(channels));
  for (int64_t m = 0; m < channels; ++m) (*out)[m] = c.data<float>()[along == 1 ? 0 : m];
  return true;
}

class WeightFolding : public Pass {
 public:
  const char* name() const override { return "weight_folding"; }
  const char* verb() const override { return "folded"; }

  Result<int> Run(ir::Graph& g, PassContext& ctx) const override {
    UseIndex index(g);
    std::vector<bool> remove(g.nodes.size(), false), touched(g.nodes.size(), false);
    int folded = 0;
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      ir::Node& conv = g.nodes[i];
      if (!conv.domain.empty() || conv.op_type != "Conv" || conv.inputs.size() < 2 ||
          conv.outputs.size() != 1 || touched[i] || remove[i])
        continue;
      const int out = conv.outputs[0];
      const Tensor* w = FloatConstant(g, conv, 1);
      if (!w) {
        TERN_ASSIGN_OR_RETURN(bool done, FoldIntoDequantized(g, ctx, index, i, remove, touched));
        if (done) ++folded;
        continue;
      }
      const Tensor* b =
          conv.inputs.size() > 2 && conv.inputs[2] >= 0 ? FloatConstant(g, conv, 2) : nullptr;
      if (!w || w->rank() < 3 || (conv.inputs.size() > 2 && conv.inputs[2] >= 0 && !b) ||
          !index.SingleUse(out))
        continue;
      const int c = index.uses[out][0].first;
      ir::Node& next = g.nodes[c];
      if (remove[c] || touched[c] || !next.domain.empty()) continue;
      const int64_t m = w->dim(0);
      if (b && (b->rank() != 1 || b->dim(0) != m)) continue;
      std::vector<float> scale(m, 1.0f), shift(m, 0.0f);  // y = conv * scale + shift
      if (!Factors(g, next, out, w->rank(), m, &scale, &shift)) continue;
      const int64_t per = w->numel() / m;
      TERN_ASSIGN_OR_RETURN(Tensor nw, Tensor::Allocate(DataType::kFloat32, w->shape()));
      TERN_ASSIGN_OR_RETURN(Tensor nb, Tensor::Allocate(DataType::kFloat32, Shape{m}));
      for (int64_t o = 0; o < m; ++o) {
        for (int64_t k = 0; k < per; ++k)
          nw.data<float>()[o * per + k] = w->data<float>()[o * per + k] * scale[o];
        nb.data<float>()[o] = (b ? b->data<float>()[o] : 0.0f) * scale[o] + shift[o];
      }
      conv.inputs.resize(3);
      conv.inputs[1] = AddInitializer(g, ctx, g.values[conv.inputs[1]].name, std::move(nw));
      conv.inputs[2] = AddInitializer(g, ctx, conv.name + "_bias", std::move(nb));
      conv.outputs[0] = next.outputs[0];
      remove[c] = touched[i] = true;
      ++folded;
    }
    if (folded) RemoveNodes(g, remove);
    return folded;
  }

 private:
  /// Conv whose weights are DequantizeLinear(8-bit constant) (a QDQ model): the channel factor
  /// goes into the (now per-channel, axis 0) weight scale, so the integer weights are unchanged
  /// and qdq_fusion can still make the Conv an int8 one; the bias (float, or DequantizeLinear of
  /// int32) becomes a float constant.
  static Result<bool> FoldIntoDequantized(ir::Graph& g, PassContext& ctx, const UseIndex& index,
                                          size_t i, std::vector<bool>& remove,
                                          std::vector<bool>& touched) {
    ir::Node& conv = g.nodes[i];
    const int wv = conv.inputs[1];
    const int out = conv.outputs[0];
    if (wv < 0 || g.values[wv].producer < 0 || !index.SingleUse(wv) || !index.SingleUse(out))
      return false;
    const size_t dq_index = static_cast<size_t>(g.values[wv].producer);
    if (remove[dq_index] || touched[dq_index]) return false;
    const ir::Node& dq = g.nodes[dq_index];
    if (!dq.domain.empty() || dq.op_type != "DequantizeLinear" || dq.inputs.size() < 2)
      return false;
    const Tensor* q = ConstantOf(g, dq.inputs[0]);
    const Tensor* qs = ConstantOf(g, dq.inputs[1]);
    const Tensor* qz =
        dq.inputs.size() > 2 && dq.inputs[2] >= 0 ? ConstantOf(g, dq.inputs[2]) : nullptr;
    if (!q || !qs || (dq.inputs.size() > 2 && dq.inputs[2] >= 0 && !qz) || q->rank() < 3 ||
        (q->dtype() != DataType::kInt8 && q->dtype() != DataType::kUInt8) ||
        qs->dtype() != DataType::kFloat32 || (qz && qz->dtype() != q->dtype()))
      return false;
    const int64_t m = q->dim(0);
    const ir::Attribute* ax = dq.attr("axis");
    const int64_t axis = ax ? (ax->i < 0 ? ax->i + static_cast<int64_t>(q->rank()) : ax->i) : 1;
    const ir::Attribute* bs = dq.attr("block_size");
    if ((bs && bs->i != 0) || (qs->numel() != 1 && (axis != 0 || qs->numel() != m)) ||
        (qz && qz->numel() != qs->numel()))
      return false;
    // The bias as floats.
    std::vector<float> bias(static_cast<size_t>(m), 0.0f);
    if (conv.inputs.size() > 2 && conv.inputs[2] >= 0) {
      const int bv = conv.inputs[2];
      if (const Tensor* b = FloatConstant(g, conv, 2)) {
        if (b->numel() != m) return false;
        std::copy(b->data<float>(), b->data<float>() + m, bias.begin());
      } else {
        const int bp = g.values[bv].producer;
        if (bp < 0) return false;
        const ir::Node& bdq = g.nodes[bp];
        const Tensor* bq = bdq.inputs.empty() ? nullptr : ConstantOf(g, bdq.inputs[0]);
        const Tensor* bsc = bdq.inputs.size() > 1 ? ConstantOf(g, bdq.inputs[1]) : nullptr;
        if (!bdq.domain.empty() || bdq.op_type != "DequantizeLinear" || !bq || !bsc ||
            (bdq.inputs.size() > 2 && bdq.inputs[2] >= 0) || bq->dtype() != DataType::kInt32 ||
            bq->numel() != m || bsc->dtype() != DataType::kFloat32 ||
            (bsc->numel() != 1 && bsc->numel() != m))
          return false;
        for (int64_t o = 0; o < m; ++o)
          bias[o] = static_cast<float>(bq->data<int32_t>()[o]) *
                    bsc->data<float>()[bsc->numel() == 1 ? 0 : o];
      }
    }
    const int c = index.uses[out][0].first;
    ir::Node& next = g.nodes[c];
    if (remove[c] || touched[c] || !next.domain.empty()) return false;
    std::vector<float> scale(m, 1.0f), shift(m, 0.0f);
    if (!Factors(g, next, out, q->rank(), m, &scale, &shift)) return false;
    TERN_ASSIGN_OR_RETURN(Tensor ns, Tensor::Allocate(DataType::kFloat32, Shape{m}));
    TERN_ASSIGN_OR_RETURN(Tensor nz, Tensor::Allocate(q->dtype(), Shape{m}));
    TERN_ASSIGN_OR_RETURN(Tensor nb, Tensor::Allocate(DataType::kFloat32, Shape{m}));
    for (int64_t o = 0; o < m; ++o) {
      const int64_t k = qs->numel() == 1 ? 0 : o;
      ns.data<float>()[o] = qs->data<float>()[k] * scale[o];
      if (q->dtype() == DataType::kInt8)
        nz.data<int8_t>()[o] = qz ? qz->data<int8_t>()[k] : int8_t{0};
      else
        nz.data<uint8_t>()[o] = qz ? qz->data<uint8_t>()[k] : uint8_t{0};
      nb.data<float>()[o] = bias[o] * scale[o] + shift[o];
    }
    const std::string wname = g.values[dq.inputs[0]].name;
    const int s_id = AddInitializer(g, ctx, wname + "_scale", std::move(ns));
    const int z_id = AddInitializer(g, ctx, wname + "_zero_point", std::move(nz));
    const int b_id = AddInitializer(g, ctx, conv.name + "_bias", std::move(nb));
    ir::Node& dqm = g.nodes[dq_index];  // AddInitializer does not add nodes: references hold
    dqm.inputs.resize(3);
    dqm.inputs[1] = s_id;
    dqm.inputs[2] = z_id;
    std::vector<ir::Attribute> attrs;
    for (const ir::Attribute& a : dqm.attrs)
      if (a.name != "axis") attrs.push_back(a);
    ir::Attribute axis0;
    axis0.name = "axis";
    axis0.type = ir::AttrType::kInt;
    axis0.i = 0;
    attrs.push_back(std::move(axis0));
    dqm.attrs = std::move(attrs);
    ir::Node& convm = g.nodes[i];
    convm.inputs.resize(3);
    convm.inputs[2] = b_id;
    convm.outputs[0] = g.nodes[c].outputs[0];
    remove[c] = touched[i] = touched[dq_index] = true;
    return true;
  }

  /// The per-channel affine map that `next` applies to `value`, or false.
  static bool Factors(const ir::Graph& g, const ir::Node& next, int value, size_t rank, int64_t m,
                      std::vector<float>* scale, std::vector<float>* shift) {
    if (next.op_type == "BatchNormalization") {
      if (next.inputs.size() < 5 || next.inputs[0] != value) return false;
      for (size_t o = 1; o < next.outputs.size(); ++o)
        if (next.outputs[o] >= 0) return false;
      const ir::Attribute* tm = next.attr("training_mode");
      if (tm && tm->i != 0) return false;
      const ir::Attribute* e = next.attr("epsilon");
      const float eps = e ? e->f : 1e-5f;
      const Tensor* p[4];
      for (int k = 0; k < 4; ++k) {
        p[k] = FloatConstant(g, next, 1 + k);
        if (!p[k] || p[k]->numel() != m) return false;
      }
      for (int64_t o = 0; o < m; ++o) {
        const float s = p[0]->data<float>()[o] / std::sqrt(p[3]->data<float>()[o] + eps);
        (*scale)[o] = s;
        (*shift)[o] = p[1]->data<float>()[o] - p[2]->data<float>()[o] * s;
      }
      return true;
    }
    if ((next.op_type != "Mul" && next.op_type != "Add") || next.inputs.size() != 2) return false;
    const int other = next.inputs[0] == value ? 1 : 0;
    if (next.inputs[1 - other] != value || next.inputs[other] == value) return false;
    const Tensor* k = FloatConstant(g, next, other);
    std::vector<float> per;
    if (!k || !PerChannel(*k, rank, m, &per)) return false;
    if (next.op_type == "Mul")
      *scale = per;
    else
      *shift = per;
    return true;
  }
};

}  // namespace

std::unique_ptr<Pass> MakeWeightFolding() { return std::make_unique<WeightFolding>(); }

}  // namespace tern::passes
