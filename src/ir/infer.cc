// Forward type/shape propagation. Each op family has a small rule; dims are ir::Dim values that
// are known, symbolic (named) or unknown. Broadcasting keeps a symbolic dim when the other side is
// 1 or the same symbol.
#include "ir/infer.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace tern::ir {
namespace {

using Dims = std::vector<Dim>;

Dim Known(int64_t v) { return Dim{v, {}}; }

bool SameDim(const Dim& a, const Dim& b) {
  if (a.known() && b.known()) return a.value == b.value;
  return !a.known() && !b.known() && !a.param.empty() && a.param == b.param;
}

struct Ctx {
  Graph& g;
  Node& n;
  const TypeInfo* in(size_t i) const {
    if (i >= n.inputs.size() || n.inputs[i] < 0) return nullptr;
    return &g.values[n.inputs[i]].type;
  }
  const Tensor* constant(size_t i) const {
    if (i >= n.inputs.size() || n.inputs[i] < 0) return nullptr;
    const Value& v = g.values[n.inputs[i]];
    return v.is_initializer && !v.is_input ? &v.initializer : nullptr;
  }
  bool shaped(size_t i) const {
    const TypeInfo* t = in(i);
    return t && t->kind == TypeInfo::Kind::kTensor && t->has_shape;
  }
  DataType elem(size_t i) const {
    const TypeInfo* t = in(i);
    return t ? t->elem : DataType::kUndefined;
  }
  void Set(size_t o, DataType elem, const Dims* dims) {
    if (o >= n.outputs.size() || n.outputs[o] < 0) return;
    TypeInfo& t = g.values[n.outputs[o]].type;
    TypeInfo fresh;
    fresh.kind = TypeInfo::Kind::kTensor;
    fresh.elem = elem != DataType::kUndefined ? elem : t.elem;
    if (dims) {
      fresh.has_shape = true;
      fresh.dims = *dims;
    } else if (t.has_shape && t.kind == TypeInfo::Kind::kTensor) {
      fresh.has_shape = true;  // keep declared value_info
      fresh.dims = t.dims;
    }
    t = std::move(fresh);
  }
  int64_t attr_i(const char* name, int64_t fallback) const {
    const Attribute* a = n.attr(name);
    return a && a->type == AttrType::kInt ? a->i : fallback;
  }
  std::vector<int64_t> attr_ints(const char* name) const {
    const Attribute* a = n.attr(name);
    return a ? a->ints : std::vector<int64_t>{};
  }
};

bool ConstInts(const Tensor* t, std::vector<int64_t>* out) {
  if (!t) return false;
  out->clear();
  if (t->dtype() == DataType::kInt64)
    out->assign(t->data<int64_t>(), t->data<int64_t>() + t->numel());
  else if (t->dtype() == DataType::kInt32)
    out->assign(t->data<int32_t>(), t->data<int32_t>() + t->numel());
  else
    return false;
  return true;
}

bool Broadcast(const std::vector<const TypeInfo*>& ins, Dims* out) {
  size_t rank = 0;
  for (const TypeInfo* t : ins) {
    if (!t || !t->has_shape) return false;
    rank = std::max(rank, t->dims.size());
  }
  out->assign(rank, Known(1));
  for (const TypeInfo* t : ins) {
    size_t off = rank - t->dims.size();
    for (size_t i = 0; i < t->dims.size(); ++i) {
      const Dim& d = t->dims[i];
      Dim& o = (*out)[off + i];
      if (d.known() && d.value == 1) continue;
      if (o.known() && o.value == 1) o = d;
      else if (!SameDim(o, d)) o = Dim{};  // unknown (or a runtime error)
    }
  }
  return true;
}

void SameAsInput(Ctx& c, DataType elem = DataType::kUndefined) {
  const TypeInfo* t = c.in(0);
  if (!t) return;
  c.Set(0, elem != DataType::kUndefined ? elem : t->elem, t->has_shape ? &t->dims : nullptr);
}

void Elementwise(Ctx& c, DataType out_elem) {
  std::vector<const TypeInfo*> ins;
  for (size_t i = 0; i < c.n.inputs.size(); ++i)
    if (c.in(i)) ins.push_back(c.in(i));
  Dims d;
  bool ok = !ins.empty() && Broadcast(ins, &d);
  c.Set(0, out_elem != DataType::kUndefined ? out_elem : c.elem(0), ok ? &d : nullptr);
}

void ConvLike(Ctx& c, bool pool) {
  if (!c.shaped(0)) return c.Set(0, c.elem(0), nullptr);
  const Dims& x = c.in(0)->dims;
  if (x.size() < 3) return c.Set(0, c.elem(0), nullptr);
  size_t spatial = x.size() - 2;
  std::vector<int64_t> kernel = c.attr_ints("kernel_shape");
  Dim channels = x[1];
  if (!pool) {
    if (!c.shaped(1) || c.in(1)->dims.size() != x.size()) return c.Set(0, c.elem(0), nullptr);
    channels = c.in(1)->dims[0];
    if (kernel.empty())
      for (size_t i = 0; i < spatial; ++i)
        kernel.push_back(c.in(1)->dims[2 + i].known() ? c.in(1)->dims[2 + i].value : -1);
  }
  if (c.n.op_type.rfind("Global", 0) == 0) {
    Dims out = {x[0], x[1]};
    for (size_t i = 0; i < spatial; ++i) out.push_back(Known(1));
    return c.Set(0, c.elem(0), &out);
  }
  std::vector<int64_t> strides = c.attr_ints("strides");
  std::vector<int64_t> dil = c.attr_ints("dilations");
  std::vector<int64_t> pads = c.attr_ints("pads");
  const Attribute* ap = c.n.attr("auto_pad");
  std::string auto_pad = ap ? ap->s : "NOTSET";
  bool ceil = c.attr_i("ceil_mode", 0) != 0;
  Dims out = {x[0], channels};
  for (size_t i = 0; i < spatial; ++i) {
    const Dim& in = x[2 + i];
    int64_t k = i < kernel.size() ? kernel[i] : -1;
    int64_t s = i < strides.size() ? strides[i] : 1;
    int64_t dl = i < dil.size() ? dil[i] : 1;
    if (!in.known() || k < 1 || s < 1 || dl < 1) {
      out.push_back(Dim{});
      continue;
    }
    int64_t eff = (k - 1) * dl + 1;
    int64_t o;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      o = (in.value + s - 1) / s;
    } else if (auto_pad == "VALID") {
      o = (in.value - eff) / s + 1;
    } else {
      int64_t p = (i < pads.size() ? pads[i] : 0) + (spatial + i < pads.size() ? pads[spatial + i] : 0);
      int64_t span = in.value + p - eff;
      o = (ceil ? (span + s - 1) / s : span / s) + 1;
    }
    out.push_back(o >= 0 ? Known(o) : Dim{});
  }
  c.Set(0, c.elem(0), &out);
}

void MatMul(Ctx& c) {
  if (!c.shaped(0) || !c.shaped(1)) return c.Set(0, c.elem(0), nullptr);
  Dims a = c.in(0)->dims, b = c.in(1)->dims;
  if (a.empty() || b.empty()) return c.Set(0, c.elem(0), nullptr);
  bool a1 = a.size() == 1, b1 = b.size() == 1;
  if (a1) a.insert(a.begin(), Known(1));
  if (b1) b.push_back(Known(1));
  TypeInfo ta, tb;
  ta.has_shape = tb.has_shape = true;
  ta.dims.assign(a.begin(), a.end() - 2);
  tb.dims.assign(b.begin(), b.end() - 2);
  Dims out;
  Broadcast({&ta, &tb}, &out);
  if (!a1) out.push_back(a[a.size() - 2]);
  if (!b1) out.push_back(b.back());
  c.Set(0, c.elem(0), &out);
}

void Gemm(Ctx& c) {
  if (!c.shaped(0) || !c.shaped(1) || c.in(0)->dims.size() != 2 || c.in(1)->dims.size() != 2)
    return c.Set(0, c.elem(0), nullptr);
  const Dims& a = c.in(0)->dims;
  const Dims& b = c.in(1)->dims;
  Dims out = {c.attr_i("transA", 0) ? a[1] : a[0], c.attr_i("transB", 0) ? b[0] : b[1]};
  c.Set(0, c.elem(0), &out);
}

void Reshape(Ctx& c) {
  std::vector<int64_t> shape;
  if (!ConstInts(c.constant(1), &shape)) return c.Set(0, c.elem(0), nullptr);
  Dims out;
  int infer_at = -1;
  bool allow_zero = c.attr_i("allowzero", 0) != 0;
  const Dims* in = c.shaped(0) ? &c.in(0)->dims : nullptr;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      infer_at = static_cast<int>(i);
      out.push_back(Dim{});
    } else if (shape[i] == 0 && !allow_zero) {
      out.push_back(in && i < in->size() ? (*in)[i] : Dim{});
    } else {
      out.push_back(Known(shape[i]));
    }
  }
  if (infer_at >= 0 && in) {
    // Known when every input dim is known.
    int64_t total = 1, rest = 1;
    bool all = true;
    for (const Dim& d : *in) all = all && d.known(), total *= d.known() ? d.value : 1;
    for (size_t i = 0; i < out.size(); ++i)
      if (static_cast<int>(i) != infer_at) all = all && out[i].known(), rest *= out[i].known() ? out[i].value : 1;
    if (all && rest > 0) out[infer_at] = Known(total / rest);
  }
  c.Set(0, c.elem(0), &out);
}

void Transpose(Ctx& c) {
  if (!c.shaped(0)) return c.Set(0, c.elem(0), nullptr);
  const Dims& x = c.in(0)->dims;
  std::vector<int64_t> perm = c.attr_ints("perm");
  Dims out;
  if (perm.empty())
    out.assign(x.rbegin(), x.rend());
  else
    for (int64_t p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(x.size())) return c.Set(0, c.elem(0), nullptr);
      out.push_back(x[p]);
    }
  c.Set(0, c.elem(0), &out);
}

void Concat(Ctx& c) {
  if (!c.shaped(0)) return c.Set(0, c.elem(0), nullptr);
  Dims out = c.in(0)->dims;
  int64_t axis = c.attr_i("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(out.size());
  if (axis < 0 || axis >= static_cast<int64_t>(out.size())) return c.Set(0, c.elem(0), nullptr);
  for (size_t i = 1; i < c.n.inputs.size(); ++i) {
    if (!c.shaped(i) || c.in(i)->dims.size() != out.size()) return c.Set(0, c.elem(0), nullptr);
    const Dim& d = c.in(i)->dims[axis];
    out[axis] = out[axis].known() && d.known() ? Known(out[axis].value + d.value) : Dim{};
  }
  c.Set(0, c.elem(0), &out);
}

void Unsqueeze(Ctx& c, bool squeeze) {
  std::vector<int64_t> axes = c.attr_ints("axes");
  if (c.n.opset >= 13 && !ConstInts(c.constant(1), &axes) && c.constant(1) == nullptr && c.in(1))
    return c.Set(0, c.elem(0), nullptr);
  if (!c.shaped(0)) return c.Set(0, c.elem(0), nullptr);
  const Dims& x = c.in(0)->dims;
  int64_t rank = static_cast<int64_t>(x.size()) + (squeeze ? 0 : static_cast<int64_t>(axes.size()));
  std::set<int64_t> ax;
  for (int64_t a : axes) ax.insert(a < 0 ? a + rank : a);
  Dims out;
  if (squeeze) {
    for (size_t i = 0; i < x.size(); ++i) {
      bool drop = axes.empty() ? (x[i].known() && x[i].value == 1) : ax.count(static_cast<int64_t>(i)) > 0;
      if (axes.empty() && !x[i].known()) return c.Set(0, c.elem(0), nullptr);
      if (!drop) out.push_back(x[i]);
    }
  } else {
    size_t j = 0;
    for (int64_t i = 0; i < rank; ++i) out.push_back(ax.count(i) ? Known(1) : (j < x.size() ? x[j++] : Dim{}));
  }
  c.Set(0, c.elem(0), &out);
}

void Flatten(Ctx& c) {
  if (!c.shaped(0)) return c.Set(0, c.elem(0), nullptr);
  const Dims& x = c.in(0)->dims;
  int64_t axis = c.attr_i("axis", 1);
  if (axis < 0) axis += static_cast<int64_t>(x.size());
  Dim a = Known(1), b = Known(1);
  for (size_t i = 0; i < x.size(); ++i) {
    Dim& t = static_cast<int64_t>(i) < axis ? a : b;
    t = t.known() && x[i].known() ? Known(t.value * x[i].value) : Dim{};
  }
  Dims out = {a, b};
  c.Set(0, c.elem(0), &out);
}

void Reduce(Ctx& c) {
  std::vector<int64_t> axes = c.attr_ints("axes");
  bool axes_input = c.n.inputs.size() > 1 && c.n.inputs[1] >= 0;
  if (axes_input && !ConstInts(c.constant(1), &axes)) return c.Set(0, c.elem(0), nullptr);
  if (!c.shaped(0)) return c.Set(0, c.elem(0), nullptr);
  const Dims& x = c.in(0)->dims;
  bool keep = c.attr_i("keepdims", 1) != 0;
  std::set<int64_t> ax;
  for (int64_t a : axes) ax.insert(a < 0 ? a + static_cast<int64_t>(x.size()) : a);
  bool all = axes.empty() && !c.attr_i("noop_with_empty_axes", 0);
  Dims out;
  for (size_t i = 0; i < x.size(); ++i) {
    bool r = all || ax.count(static_cast<int64_t>(i));
    if (!r) out.push_back(x[i]);
    else if (keep) out.push_back(Known(1));
  }
  DataType e = (c.n.op_type == "ArgMax" || c.n.op_type == "ArgMin") ? DataType::kInt64 : c.elem(0);
  if (c.n.op_type == "ArgMax" || c.n.op_type == "ArgMin") {
    out.clear();
    int64_t axis = c.attr_i("axis", 0);
    if (axis < 0) axis += static_cast<int64_t>(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      if (static_cast<int64_t>(i) != axis) out.push_back(x[i]);
      else if (keep) out.push_back(Known(1));
  }
  c.Set(0, e, &out);
}

using Rule = std::function<void(Ctx&)>;

const std::map<std::string, Rule>& Rules() {
  static const std::map<std::string, Rule> rules = [] {
    std::map<std::string, Rule> r;
    for (const char* op : {"Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Neg", "Abs", "Erf",
                           "LeakyRelu", "Elu", "Selu", "Celu", "HardSigmoid", "HardSwish",
                           "Softplus", "Softsign", "Clip", "Identity", "Dropout", "Softmax",
                           "LogSoftmax", "Hardmax", "BatchNormalization", "InstanceNormalization",
                           "LayerNormalization", "LRN", "Floor", "Ceil", "Round", "Reciprocal",
                           "Sin", "Cos", "Tan", "Sign", "CumSum", "Shrink", "ThresholdedRelu",
                           "Mish", "Gelu", "MeanVarianceNormalization"})
      r[op] = [](Ctx& c) { SameAsInput(c); };
    r["Cast"] = [](Ctx& c) {
      SameAsInput(c, static_cast<DataType>(c.attr_i("to", 0)));
    };
    r["Not"] = [](Ctx& c) { SameAsInput(c); };
    // The element type passes through; the shape depends on values not tracked here. Knowing the
    // type is what lets an optimized kernel downstream (a Conv after a Pad) be chosen at load.
    for (const char* op : {"Pad", "Slice", "Expand", "Tile"})
      r[op] = [](Ctx& c) { c.Set(0, c.elem(0), nullptr); };
    r["IsNaN"] = r["IsInf"] = [](Ctx& c) { SameAsInput(c, DataType::kBool); };
    for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean",
                           "PRelu", "BitShift", "And", "Or", "Xor"})
      r[op] = [](Ctx& c) { Elementwise(c, DataType::kUndefined); };
    for (const char* op : {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
      r[op] = [](Ctx& c) { Elementwise(c, DataType::kBool); };
    r["Where"] = [](Ctx& c) {
      Dims d;
      bool ok = c.in(0) && c.in(1) && c.in(2) && Broadcast({c.in(0), c.in(1), c.in(2)}, &d);
      c.Set(0, c.elem(1), ok ? &d : nullptr);
    };
    for (const char* op : {"Conv", "ConvInteger"}) r[op] = [](Ctx& c) { ConvLike(c, false); };
    for (const char* op : {"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool",
                           "GlobalMaxPool", "GlobalLpPool"})
      r[op] = [](Ctx& c) { ConvLike(c, true); };
    // Output sizes depend on run-time scales or output_shape: the element type and rank (and
    // ConvTranspose's batch dim) are still known, which lets the consumers pick typed kernels.
    for (const char* op : {"Resize", "Upsample", "ConvTranspose"})
      r[op] = [](Ctx& c) {
        if (!c.shaped(0)) return c.Set(0, c.elem(0), nullptr);
        Dims d(c.in(0)->dims.size(), Dim{});
        if (c.n.op_type == "ConvTranspose" && !d.empty()) d[0] = c.in(0)->dims[0];
        c.Set(0, c.elem(0), &d);
      };
    r["MatMul"] = MatMul;
    r["Gemm"] = Gemm;
    r["Reshape"] = Reshape;
    r["Transpose"] = Transpose;
    r["Concat"] = Concat;
    r["Unsqueeze"] = [](Ctx& c) { Unsqueeze(c, false); };
    r["Squeeze"] = [](Ctx& c) { Unsqueeze(c, true); };
    r["Flatten"] = Flatten;
    for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                           "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp",
                           "ReduceSumSquare", "ArgMax", "ArgMin"})
      r[op] = Reduce;
    r["Shape"] = [](Ctx& c) {
      Dims out = {c.shaped(0) ? Known(static_cast<int64_t>(c.in(0)->dims.size())) : Dim{}};
      if (c.shaped(0) && (c.n.attr("start") || c.n.attr("end"))) out = {Dim{}};
      c.Set(0, DataType::kInt64, &out);
    };
    r["Size"] = [](Ctx& c) {
      Dims out;
      c.Set(0, DataType::kInt64, &out);
    };
    r["Gather"] = [](Ctx& c) {
      if (!c.shaped(0) || !c.shaped(1)) return c.Set(0, c.elem(0), nullptr);
      const Dims& x = c.in(0)->dims;
      int64_t axis = c.attr_i("axis", 0);
      if (axis < 0) axis += static_cast<int64_t>(x.size());
      if (axis < 0 || axis >= static_cast<int64_t>(x.size())) return c.Set(0, c.elem(0), nullptr);
      Dims out(x.begin(), x.begin() + axis);
      out.insert(out.end(), c.in(1)->dims.begin(), c.in(1)->dims.end());
      out.insert(out.end(), x.begin() + axis + 1, x.end());
      c.Set(0, c.elem(0), &out);
    };
    // The output takes the zero point's type, else output_dtype, else uint8 (never x's float).
    r["QuantizeLinear"] = [](Ctx& c) {
      DataType e = c.elem(2);
      if (e == DataType::kUndefined && c.attr_i("output_dtype", 0) != 0)
        e = static_cast<DataType>(c.attr_i("output_dtype", 0));
      SameAsInput(c, e != DataType::kUndefined ? e : DataType::kUInt8);
    };
    r["DequantizeLinear"] = [](Ctx& c) {
      const TypeInfo* t = c.in(0);
      c.Set(0, c.elem(1) != DataType::kUndefined ? c.elem(1) : DataType::kFloat32,
            t && t->has_shape ? &t->dims : nullptr);
    };
    r["ConstantOfShape"] = [](Ctx& c) {
      const Attribute* a = c.n.attr("value");
      DataType e = a && a->t.defined() ? a->t.dtype() : DataType::kFloat32;
      std::vector<int64_t> shape;
      if (ConstInts(c.constant(0), &shape)) {
        Dims out;
        for (int64_t d : shape) out.push_back(Known(d));
        return c.Set(0, e, &out);
      }
      c.Set(0, e, nullptr);
    };
    return r;
  }();
  return rules;
}

void InferGraph(Graph& g, InferStats& stats) {
  for (Node& n : g.nodes) {
    for (Attribute& a : n.attrs) {
      std::vector<Graph*> subs;
      if (a.g) subs.push_back(a.g.get());
      for (auto& sg : a.graphs) subs.push_back(sg.get());
      for (Graph* sg : subs) {
        for (int ref : sg->outer_refs) {  // refresh outer values with what was inferred here
          int pv = g.FindValue(sg->values[ref].name);
          if (pv >= 0) sg->values[ref].type = g.values[pv].type;
        }
        InferGraph(*sg, stats);
      }
    }
    // Rules describe tensors only: nodes that touch sequences or optionals keep declared types.
    bool tensors_only = true;
    for (int v : n.inputs)
      if (v >= 0 && g.values[v].type.kind != TypeInfo::Kind::kTensor &&
          g.values[v].type.kind != TypeInfo::Kind::kUnknown)
        tensors_only = false;
    for (int v : n.outputs)
      if (v >= 0 && g.values[v].type.kind != TypeInfo::Kind::kTensor &&
          g.values[v].type.kind != TypeInfo::Kind::kUnknown)
        tensors_only = false;
    if (n.domain.empty() && tensors_only) {
      auto it = Rules().find(n.op_type);
      if (it != Rules().end()) {
        Ctx c{g, n};
        it->second(c);
      }
    }
    for (int v : n.outputs) {
      if (v < 0) continue;
      ++stats.values;
      const TypeInfo& t = g.values[v].type;
      if (t.elem != DataType::kUndefined) ++stats.typed;
      if (t.has_shape) ++stats.shaped;
    }
  }
}

}  // namespace

InferStats InferTypes(Graph& graph) {
  InferStats stats;
  InferGraph(graph, stats);
  return stats;
}

}  // namespace tern::ir
