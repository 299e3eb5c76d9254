// Unstructured and structured magnitude pruning (see prune.h). Structured pruning first traces
// every path from a layer's output to the ops that consume its channels, collecting the constant
// edits the removal needs; only when every path ends in an op it can rewrite are the edits
// applied, so a layer is either fully rewired or untouched.
#include "compress/prune.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "compress/graph_edit.h"
#include "ir/infer.h"

namespace tern::compress {

namespace {

int64_t CountFor(double sparsity, int64_t n) {
  return std::clamp(static_cast<int64_t>(std::floor(sparsity * static_cast<double>(n) + 0.5)),
                    int64_t{0}, n);
}

/// Conv, Gemm and MatMul: the ops whose input 1 is a weight.
bool IsWeighted(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul");
}

/// A copy of `t` that keeps, along `axis`, the entries of the kept channels; each channel spans
/// `group` consecutive entries (a Flatten folds H*W positions into one channel).
Result<Tensor> KeepChannels(const Tensor& t, size_t axis, const std::vector<int64_t>& keep,
                            int64_t group) {
  Shape shape = t.shape();
  const int64_t dim = shape[axis];
  shape[axis] = static_cast<int64_t>(keep.size()) * group;
  TERN_ASSIGN_OR_RETURN(Tensor out, Tensor::Allocate(DataType::kFloat32, shape));
  const int64_t outer = t.shape().Product(0, axis);
  const int64_t inner = t.shape().Product(axis + 1, t.rank());
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c : keep) {
      const size_t bytes = static_cast<size_t>(group * inner) * sizeof(float);
      std::memcpy(dst, src + (o * dim + c * group) * inner, bytes);
      dst += group * inner;
    }
  return out;
}

/// One planned change: constant `value` loses the removed channels along `axis`.
struct Edit {
  int value = -1;
  size_t axis = 0;
  int64_t group = 1;
};

/// A value inside the pruned region whose declared shape changes with the channel count.
struct RegionValue {
  int value = -1;
  size_t axis = 0;
  int64_t group = 1;
};

class ChannelTracer {
 public:
  ChannelTracer(const ir::Graph& g, int64_t channels) : g_(g), channels_(channels) {
    uses_.resize(g.values.size());
    for (size_t i = 0; i < g.nodes.size(); ++i)
      for (size_t s = 0; s < g.nodes[i].inputs.size(); ++s)
        if (g.nodes[i].inputs[s] >= 0)
          uses_[static_cast<size_t>(g.nodes[i].inputs[s])].push_back({i, s});
    for (const ir::Node& n : g.nodes)
      for (int v : n.implicit_inputs) subgraph_reads_.insert(v);
    outputs_.insert(g.outputs.begin(), g.outputs.end());
  }

  /// Follows `value` (channels on `axis` of a rank-`rank` tensor) to every consumer.
  Status Trace(int value, size_t axis, size_t rank) {
    if (outputs_.count(value)) return Refuse("its channels reach graph output", value);
    if (subgraph_reads_.count(value)) return Refuse("a subgraph reads", value);
    region.push_back({value, axis, 1});
    for (const auto& [node_index, slot] : uses_[static_cast<size_t>(value)])
      TERN_RETURN_IF_ERROR(Consumer(g_.nodes[node_index], slot, axis, rank));
    return Status::Ok();
  }

  /// Plans the edit of a constant that holds one entry (or `group`) per channel on `axis`.
  Status Plan(int value, size_t axis, int64_t group = 1) {
    const Tensor* t = FloatWeight(g_, value);
    if (!t) return Refuse("a non-constant or non-float operand", value);
    if (axis >= t->rank() || t->dim(axis) != channels_ * group)
      return Refuse("a constant with an unexpected shape", value);
    if (Uses(value) != 1) return Refuse("a shared constant", value);
    edits.push_back({value, axis, group});
    return Status::Ok();
  }

  std::vector<Edit> edits;
  std::vector<RegionValue> region;

 private:
  Status Refuse(const std::string& why, int value) const {
    return NotImplemented(why + " '" + g_.values[static_cast<size_t>(value)].name + "'");
  }

  int Uses(int value) const {
    return static_cast<int>(uses_[static_cast<size_t>(value)].size()) +
           static_cast<int>(outputs_.count(value) + subgraph_reads_.count(value));
  }

  bool OnlyFirstOutputUsed(const ir::Node& n) const {
    for (size_t o = 1; o < n.outputs.size(); ++o)
      if (n.outputs[o] >= 0 && Uses(n.outputs[o]) > 0) return false;
    return true;
  }

  Status Consumer(const ir::Node& n, size_t slot, size_t axis, size_t rank) {
    static const std::set<std::string> kElementwise = {
        "Relu", "LeakyRelu", "Sigmoid",  "Tanh", "HardSigmoid", "HardSwish", "Elu",
        "Selu", "Softplus",  "Identity", "Abs",  "Neg",         "Clip",      "Dropout"};
    static const std::set<std::string> kPools = {"MaxPool", "AveragePool", "GlobalAveragePool",
                                                 "GlobalMaxPool", "LpPool"};
    const std::string where = " (" + n.Describe() + ")";
    if (!n.domain.empty()) return NotImplemented("consumer " + n.Describe() + " is not ai.onnx");
    if ((kElementwise.count(n.op_type) && slot == 0) ||
        (kPools.count(n.op_type) && axis == 1 && rank >= 3)) {
      if (!OnlyFirstOutputUsed(n)) return NotImplemented("second output used" + where);
      return Trace(n.outputs[0], axis, rank);
    }
    if (n.op_type == "BatchNormalization" && slot == 0 && axis == 1) {
      if (!OnlyFirstOutputUsed(n)) return NotImplemented("training outputs used" + where);
      for (size_t i = 1; i < 5 && i < n.inputs.size(); ++i)
        TERN_RETURN_IF_ERROR(Plan(n.inputs[i], 0));
      return Trace(n.outputs[0], axis, rank);
    }
    if ((n.op_type == "Add" || n.op_type == "Sub" || n.op_type == "Mul" || n.op_type == "Div") &&
        n.inputs.size() == 2) {
      const int other = n.inputs[1 - slot];
      const Tensor* c = FloatWeight(g_, other);
      if (!c) return NotImplemented("operand of " + n.Describe() + " is not a constant");
      if (c->rank() > rank) return NotImplemented("constant broadcasts up" + where);
      const int64_t aligned = static_cast<int64_t>(axis) - static_cast<int64_t>(rank - c->rank());
      if (aligned >= 0 && c->dim(static_cast<size_t>(aligned)) != 1)
        TERN_RETURN_IF_ERROR(Plan(other, static_cast<size_t>(aligned)));
      return Trace(n.outputs[0], axis, rank);
    }
    if (n.op_type == "Conv" && slot == 0 && axis == 1) {
      if (AttrInt(n, "group", 1) != 1) return NotImplemented("grouped consumer" + where);
      return Plan(n.inputs[1], 1);
    }
    if (n.op_type == "Gemm" && slot == 0 && axis == 1 && rank == 2) {
      if (AttrInt(n, "transA", 0) != 0) return NotImplemented("transA consumer" + where);
      return Plan(n.inputs[1], AttrInt(n, "transB", 0) ? 1 : 0);
    }
    if (n.op_type == "MatMul" && slot == 0 && axis + 1 == rank) {
      const Tensor* b = FloatWeight(g_, n.inputs[1]);
      if (!b || b->rank() != 2)
        return NotImplemented("MatMul weight is not a 2-D constant" + where);
      return Plan(n.inputs[1], 0);
    }
    if (n.op_type == "Flatten" && slot == 0 && axis == 1 && AttrInt(n, "axis", 1) == 1)
      return ThroughFlatten(n, rank);
    return NotImplemented("consumer " + n.Describe() + " cannot be rewritten");
  }

  /// [N, C, spatial...] -> [N, C * S]: channel c owns features [c*S, (c+1)*S), which only a
  /// Gemm or MatMul weight can absorb.
  Status ThroughFlatten(const ir::Node& n, size_t rank) {
    const ir::TypeInfo& t = g_.values[static_cast<size_t>(n.inputs[0])].type;
    if (!t.has_shape || t.dims.size() != rank)
      return NotImplemented("Flatten input shape unknown (" + n.Describe() + ")");
    int64_t spatial = 1;
    for (size_t d = 2; d < rank; ++d) {
      if (!t.dims[d].known())
        return NotImplemented("Flatten of a dynamic size (" + n.Describe() + ")");
      spatial *= t.dims[d].value;
    }
    const int flat = n.outputs[0];
    if (outputs_.count(flat) || subgraph_reads_.count(flat))
      return Refuse("its channels reach graph output", flat);
    region.push_back({flat, 1, spatial});
    for (const auto& [node_index, slot] : uses_[static_cast<size_t>(flat)]) {
      const ir::Node& c = g_.nodes[node_index];
      if (slot == 0 && c.op_type == "Gemm" && c.domain.empty() && AttrInt(c, "transA", 0) == 0) {
        TERN_RETURN_IF_ERROR(Plan(c.inputs[1], AttrInt(c, "transB", 0) ? 1 : 0, spatial));
      } else if (slot == 0 && c.op_type == "MatMul" && c.domain.empty()) {
        TERN_RETURN_IF_ERROR(Plan(c.inputs[1], 0, spatial));
      } else {
        return NotImplemented("Flatten feeds " + c.Describe());
      }
    }
    return Status::Ok();
  }

  const ir::Graph& g_;
  int64_t channels_;
  std::vector<std::vector<std::pair<size_t, size_t>>> uses_;  // value -> (node, input slot)
  std::set<int> outputs_, subgraph_reads_;
};

/// Output channels of `w` along `axis` ranked by L1 norm; the `remove` smallest are dropped
/// (ties by index). Returns the kept channel indices in order.
std::vector<int64_t> KeptByL1(const Tensor& w, size_t axis, int64_t remove) {
  const int64_t channels = w.dim(axis);
  const int64_t outer = w.shape().Product(0, axis);
  const int64_t inner = w.shape().Product(axis + 1, w.rank());
  std::vector<double> l1(static_cast<size_t>(channels), 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < inner; ++i)
        l1[static_cast<size_t>(c)] += std::fabs(w.data<float>()[(o * channels + c) * inner + i]);
  std::vector<int64_t> order(static_cast<size_t>(channels));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return l1[static_cast<size_t>(a)] < l1[static_cast<size_t>(b)];
  });
  std::vector<int64_t> keep(order.begin() + remove, order.end());
  std::sort(keep.begin(), keep.end());
  return keep;
}

void SetInitializer(ir::Graph& g, int id, Tensor t) {
  ir::Value& v = g.values[static_cast<size_t>(id)];
  v.type.dims.clear();
  for (int64_t d : t.shape()) v.type.dims.push_back(ir::Dim{d, {}});
  v.type.has_shape = true;
  v.initializer = std::move(t);
}

/// Structured pruning of one layer; NotImplemented (with the reason) when it is left alone.
Status PruneChannels(ir::Graph& g, size_t node_index, double sparsity, PruneSummary* summary) {
  const ir::Node n = g.nodes[node_index];
  const bool conv = n.op_type == "Conv";
  if (!conv && n.op_type != "Gemm") return NotImplemented("not Conv or Gemm");
  const Tensor* w = n.inputs.size() > 1 ? FloatWeight(g, n.inputs[1]) : nullptr;
  if (!w || w->rank() < 2 || (!conv && w->rank() != 2))
    return NotImplemented("weight is not a constant");
  if (conv && AttrInt(n, "group", 1) != 1) return NotImplemented("grouped Conv");
  if (!conv && AttrInt(n, "transA", 0) != 0) return NotImplemented("Gemm with transA");
  const size_t w_axis = conv || AttrInt(n, "transB", 0) ? 0 : 1;
  const int64_t channels = w->dim(w_axis);
  const int64_t remove = std::min(CountFor(sparsity, channels), channels - 1);
  if (remove <= 0) return NotImplemented("nothing to remove at this sparsity");
  ChannelTracer tracer(g, channels);
  TERN_RETURN_IF_ERROR(tracer.Plan(n.inputs[1], w_axis));
  if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
    const Tensor* bias = FloatWeight(g, n.inputs[2]);
    if (!bias) return NotImplemented("bias is not a constant");
    // Gemm's C broadcasts: only a dim that equals N is per channel.
    if (bias->rank() >= 1 && bias->dim(bias->rank() - 1) != 1)
      TERN_RETURN_IF_ERROR(tracer.Plan(n.inputs[2], conv ? 0 : bias->rank() - 1));
  }
  TERN_RETURN_IF_ERROR(tracer.Trace(n.outputs[0], 1, conv ? w->rank() : 2));
  const std::vector<int64_t> keep = KeptByL1(*w, w_axis, remove);
  for (const Edit& e : tracer.edits) {
    TERN_ASSIGN_OR_RETURN(Tensor t, KeepChannels(g.values[static_cast<size_t>(e.value)].initializer,
                                                 e.axis, keep, e.group));
    SetInitializer(g, e.value, std::move(t));
  }
  for (const RegionValue& r : tracer.region) {
    ir::TypeInfo& t = g.values[static_cast<size_t>(r.value)].type;
    if (t.has_shape && r.axis < t.dims.size())
      t.dims[r.axis] = ir::Dim{static_cast<int64_t>(keep.size()) * r.group, {}};
  }
  summary->removed_channels += remove;
  summary->prunable_channels += channels;
  ++summary->pruned_nodes;
  return Status::Ok();
}

}  // namespace

int64_t ZeroSmallest(Tensor& w, double sparsity) {
  const int64_t n = w.numel();
  const int64_t count = CountFor(sparsity, n);
  if (count == 0) return 0;
  float* x = w.data<float>();
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  auto smaller = [&](int64_t a, int64_t b) {
    const float fa = std::fabs(x[a]), fb = std::fabs(x[b]);
    return fa < fb || (fa == fb && a < b);
  };
  std::nth_element(order.begin(), order.begin() + (count - 1), order.end(), smaller);
  for (int64_t i = 0; i < count; ++i) x[order[static_cast<size_t>(i)]] = 0.0f;
  return count;
}

Result<ir::Model> Prune(const ir::Model& model, const PruneOptions& options,
                        PruneSummary* summary) {
  PruneSummary local;
  if (!summary) summary = &local;
  if (!(options.sparsity >= 0 && options.sparsity <= 1))
    return InvalidArgument("sparsity must be in [0, 1]");
  ir::Model out = model;
  out.graph = std::make_shared<ir::Graph>(*model.graph);  // edits must not touch the input
  ir::Graph& g = *out.graph;
  // Static shapes let a channel cross a Flatten (structured pruning).
  if (options.structured) ir::InferTypes(g);
  std::set<int> done;  // a weight shared by several nodes is pruned once
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!IsWeighted(n) || options.exclude_nodes.count(n.name)) continue;
    if (options.structured) {
      if (n.op_type == "MatMul") continue;  // no output-channel owner to shrink
      Status st = PruneChannels(g, i, options.sparsity, summary);
      if (!st.ok()) summary->skipped.push_back(n.Describe() + ": " + st.message());
      continue;
    }
    const int w = n.inputs.size() > 1 ? n.inputs[1] : -1;
    const Tensor* t = FloatWeight(g, w);
    if (!t || t->rank() < 2 || done.count(w)) continue;
    // A copy: the initializer may be memory of the input file, which stays read-only.
    TERN_ASSIGN_OR_RETURN(Tensor pruned, t->Clone());
    summary->zeroed_weights += ZeroSmallest(pruned, options.sparsity);
    summary->prunable_weights += pruned.numel();
    SetInitializer(g, w, std::move(pruned));
    done.insert(w);
    ++summary->pruned_nodes;
  }
  if (out.producer_name.empty()) out.producer_name = "tern prune";
  TERN_RETURN_IF_ERROR(ir::SortAndVerify(g));
  return out;
}

}  // namespace tern::compress
