// int8-static (QDQ) and int8-dynamic rewrites of Conv, MatMul and Gemm.
//
// Static: activations get asymmetric per-tensor parameters from their calibrated range
// (scale = (hi - lo) / 255, the range widened to contain 0 so that 0 is exact, as padding
// needs); one QuantizeLinear/DequantizeLinear pair per tensor is shared by all its consumers.
// Dynamic: DynamicQuantizeLinear computes uint8 parameters per run; MatMulInteger multiplies
// with int8 weights and the int32 result is rescaled by a_scale * w_scale.
#include <algorithm>
#include <cmath>
#include <map>

#include "compress/graph_edit.h"
#include "compress/quantize.h"

namespace tern::compress {

namespace {

Tensor ScalarF(float x) {
  return Tensor::FromVector(DataType::kFloat32, Shape{}, std::vector<float>{x});
}

/// Which inputs of a node are quantized and how.
struct Target {
  size_t node = 0;
  std::vector<int> act_slots;  // float activations
  int weight_slot = -1;        // constant weight
  int weight_axis = 0;         // output-channel axis of the weight
  int bias_slot = -1;          // Conv bias quantized to int32
};

std::vector<Target> FindTargets(const ir::Graph& g, const QuantizeOptions& o) {
  std::vector<Target> targets;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (ExcludedFromQuantization(n, o) || n.inputs.size() < 2 || n.inputs[0] < 0 ||
        FloatWeight(g, n.inputs[0]))
      continue;
    Target t;
    t.node = i;
    t.act_slots.push_back(0);
    const Tensor* w = FloatWeight(g, n.inputs[1]);
    if (n.op_type == "Conv") {
      if (!w) continue;
      t.weight_slot = 1;
      if (n.inputs.size() > 2 && FloatWeight(g, n.inputs[2])) t.bias_slot = 2;
    } else if (n.op_type == "MatMul") {
      if (w && w->rank() >= 2) {
        t.weight_slot = 1;
        t.weight_axis = static_cast<int>(w->rank()) - 1;
      } else if (!w) {
        t.act_slots.push_back(1);
      } else {
        continue;
      }
    } else if (n.op_type == "Gemm") {
      if (w) {
        t.weight_slot = 1;
        t.weight_axis = AttrInt(n, "transB", 0) ? 0 : 1;
      } else {
        t.act_slots.push_back(1);
      }
    } else {
      continue;
    }
    targets.push_back(t);
  }
  return targets;
}

struct ActParams {
  float scale = 1;
  int zero_point = 0;
};

ActParams ActivationParams(Range r, bool int8) {
  const float lo = std::min(r.lo, 0.0f), hi = std::max(r.hi, 0.0f);
  ActParams p;
  p.scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  const float qmin = int8 ? -128.0f : 0.0f;
  p.zero_point =
      static_cast<int>(std::clamp(std::nearbyint(qmin - lo / p.scale), qmin, qmin + 255.0f));
  return p;
}

/// Adds int8 weights + scales behind a DequantizeLinear; returns the float output and the scales.
Result<std::pair<int, Tensor>> AddWeightDq(GraphEditor& ed, int weight, int axis,
                                           bool per_channel) {
  const ir::Value& v = ed.graph().values[static_cast<size_t>(weight)];
  const std::string name = v.name;
  TERN_ASSIGN_OR_RETURN(auto qs, QuantizeWeightSymmetric(v.initializer, per_channel ? axis : -1));
  Tensor scales = qs.second;
  TERN_ASSIGN_OR_RETURN(Tensor zp, Tensor::Allocate(DataType::kInt8, scales.shape()));
  int q_id = ed.AddInitializer(name + "_quantized", std::move(qs.first));
  int s_id = ed.AddInitializer(name + "_scale", scales);
  int z_id = ed.AddInitializer(name + "_zero_point", std::move(zp));
  int out = ed.AddValue(name + "_dequantized", DataType::kFloat32);
  std::vector<ir::Attribute> attrs;
  if (per_channel) attrs.push_back(IntAttr("axis", axis));
  ed.AddNode("DequantizeLinear", {q_id, s_id, z_id}, {out}, std::move(attrs));
  return std::make_pair(out, std::move(scales));
}

}  // namespace

Status QuantizeInt8Static(ir::Model& model, const QuantizeOptions& options,
                          const std::vector<InputSet>& calibration, QuantizeSummary* summary) {
  const std::vector<Target> targets = FindTargets(*model.graph, options);
  std::vector<std::string> names;
  for (const Target& t : targets)
    for (int slot : t.act_slots) {
      const std::string& name =
          model.graph
              ->values[static_cast<size_t>(
                  model.graph->nodes[t.node].inputs[static_cast<size_t>(slot)])]
              .name;
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  TERN_ASSIGN_OR_RETURN(auto ranges, Calibrate(model, names, calibration, options.calibration));

  GraphEditor ed(model);
  ir::Graph& g = ed.graph();
  const DataType qtype = options.int8_activations ? DataType::kInt8 : DataType::kUInt8;
  std::map<int, std::pair<int, float>> act_dq;  // activation -> (dequantized value, scale)
  for (const Target& t : targets) {
    std::vector<int> inputs = g.nodes[t.node].inputs;
    bool all_acts = true;
    float x_scale = 0;
    for (int slot : t.act_slots) {
      const int x = inputs[static_cast<size_t>(slot)];
      auto done = act_dq.find(x);
      if (done == act_dq.end()) {
        const std::string name = g.values[static_cast<size_t>(x)].name;
        auto r = ranges.find(name);
        if (r == ranges.end()) {  // not float32 at run time: leave this node alone
          all_acts = false;
          break;
        }
        ActParams p = ActivationParams(r->second, options.int8_activations);
        Tensor zp =
            options.int8_activations
                ? Tensor::FromVector(qtype, Shape{},
                                     std::vector<int8_t>{static_cast<int8_t>(p.zero_point)})
                : Tensor::FromVector(qtype, Shape{},
                                     std::vector<uint8_t>{static_cast<uint8_t>(p.zero_point)});
        int s_id = ed.AddInitializer(name + "_scale", ScalarF(p.scale));
        int z_id = ed.AddInitializer(name + "_zero_point", std::move(zp));
        int q = ed.AddValue(name + "_quantized", qtype);
        int dq = ed.AddValue(name + "_dequantized", DataType::kFloat32);
        ed.AddNode("QuantizeLinear", {x, s_id, z_id}, {q});
        ed.AddNode("DequantizeLinear", {q, s_id, z_id}, {dq});
        done = act_dq.emplace(x, std::make_pair(dq, p.scale)).first;
      }
      inputs[static_cast<size_t>(slot)] = done->second.first;
      if (slot == 0) x_scale = done->second.second;
    }
    if (!all_acts) continue;
    Tensor w_scales;
    if (t.weight_slot >= 0) {
      const int w = inputs[static_cast<size_t>(t.weight_slot)];
      // A weight shared by several nodes is quantized once per node (rare in practice).
      TERN_ASSIGN_OR_RETURN(auto dq, AddWeightDq(ed, w, t.weight_axis, options.per_channel));
      inputs[static_cast<size_t>(t.weight_slot)] = dq.first;
      w_scales = std::move(dq.second);
      ++summary->converted_weights;
    }
    if (t.bias_slot >= 0 && w_scales.defined()) {
      const int b = inputs[static_cast<size_t>(t.bias_slot)];
      const Tensor& bias = g.values[static_cast<size_t>(b)].initializer;
      const int64_t channels = bias.numel();
      const int64_t scale_count = w_scales.numel();
      if (bias.rank() == 1 && (scale_count == 1 || scale_count == channels)) {
        const std::string name = g.values[static_cast<size_t>(b)].name;
        TERN_ASSIGN_OR_RETURN(Tensor bq, Tensor::Allocate(DataType::kInt32, bias.shape()));
        TERN_ASSIGN_OR_RETURN(Tensor bs, Tensor::Allocate(DataType::kFloat32, w_scales.shape()));
        for (int64_t c = 0; c < scale_count; ++c)
          bs.data<float>()[c] = x_scale * w_scales.data<float>()[c];
        for (int64_t c = 0; c < channels; ++c) {
          const double q = std::nearbyint(static_cast<double>(bias.data<float>()[c]) /
                                          bs.data<float>()[scale_count == 1 ? 0 : c]);
          bq.data<int32_t>()[c] = static_cast<int32_t>(std::clamp(q, -2147483647.0, 2147483647.0));
        }
        int q_id = ed.AddInitializer(name + "_quantized", std::move(bq));
        int s_id = ed.AddInitializer(name + "_scale", std::move(bs));
        int out = ed.AddValue(name + "_dequantized", DataType::kFloat32);
        std::vector<ir::Attribute> attrs;
        if (scale_count > 1) attrs.push_back(IntAttr("axis", 0));
        ed.AddNode("DequantizeLinear", {q_id, s_id}, {out}, std::move(attrs));
        inputs[static_cast<size_t>(t.bias_slot)] = out;
      }
    }
    g.nodes[t.node].inputs = std::move(inputs);
    ++summary->quantized_nodes;
  }
  return ed.Finish();
}

Status QuantizeInt8Dynamic(ir::Model& model, const QuantizeOptions& options,
                           QuantizeSummary* summary) {
  GraphEditor ed(model);
  ir::Graph& g = ed.graph();
  std::map<int, std::vector<int>> dynamic_q;  // activation -> (q, scale, zero point)
  std::vector<bool> erase(g.nodes.size(), false);
  const size_t original_nodes = g.nodes.size();
  for (size_t i = 0; i < original_nodes; ++i) {
    const ir::Node n = g.nodes[i];  // a copy: AddNode may reallocate the node list
    if (ExcludedFromQuantization(n, options) || n.inputs.size() < 2 || n.inputs[0] < 0) continue;
    const Tensor* w = FloatWeight(g, n.inputs[1]);
    if (!w || FloatWeight(g, n.inputs[0])) continue;
    if (n.op_type == "Conv") {
      // Weight-only: ONNX Runtime's ConvInteger takes uint8 weights only, so Conv keeps float
      // activations and int8 weights.
      TERN_ASSIGN_OR_RETURN(auto dq, AddWeightDq(ed, n.inputs[1], 0, options.per_channel));
      g.nodes[i].inputs[1] = dq.first;
      ++summary->converted_weights;
      ++summary->quantized_nodes;
      continue;
    }
    const bool gemm = n.op_type == "Gemm";
    if ((n.op_type != "MatMul" && !gemm) || w->rank() != 2) continue;
    if (gemm && AttrInt(n, "transA", 0) != 0) continue;
    const int c_id = gemm && n.inputs.size() > 2 ? n.inputs[2] : -1;
    if (c_id >= 0 && !FloatWeight(g, c_id)) continue;
    // MatMulInteger wants B as [K, N]; Gemm's transB stores [N, K].
    Tensor b = *w;
    if (gemm && AttrInt(n, "transB", 0)) {
      const int64_t rows = w->dim(0), cols = w->dim(1);
      TERN_ASSIGN_OR_RETURN(b, Tensor::Allocate(DataType::kFloat32, Shape{cols, rows}));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          b.data<float>()[c * rows + r] = w->data<float>()[r * cols + c];
    }
    const std::string wname = g.values[static_cast<size_t>(n.inputs[1])].name;
    TERN_ASSIGN_OR_RETURN(auto qs, QuantizeWeightSymmetric(b, options.per_channel ? 1 : -1));
    Tensor scales = std::move(qs.second);
    const float alpha = gemm ? AttrFloat(n, "alpha", 1.0f) : 1.0f;
    for (int64_t k = 0; k < scales.numel(); ++k) scales.data<float>()[k] *= alpha;
    TERN_ASSIGN_OR_RETURN(Tensor zp, Tensor::Allocate(DataType::kInt8, scales.shape()));
    int wq = ed.AddInitializer(wname + "_quantized", std::move(qs.first));
    int ws = ed.AddInitializer(wname + "_scale", std::move(scales));
    int wz = ed.AddInitializer(wname + "_zero_point", std::move(zp));
    const int a = n.inputs[0];
    auto found = dynamic_q.find(a);
    if (found == dynamic_q.end()) {
      const std::string aname = g.values[static_cast<size_t>(a)].name;
      std::vector<int> outs = {ed.AddValue(aname + "_quantized", DataType::kUInt8),
                               ed.AddValue(aname + "_scale", DataType::kFloat32),
                               ed.AddValue(aname + "_zero_point", DataType::kUInt8)};
      ed.AddNode("DynamicQuantizeLinear", {a}, outs);
      found = dynamic_q.emplace(a, outs).first;
    }
    const std::vector<int> aq = found->second;
    const std::string oname = g.values[static_cast<size_t>(n.outputs[0])].name;
    int acc = ed.AddValue(oname + "_int32", DataType::kInt32);
    int accf = ed.AddValue(oname + "_float", DataType::kFloat32);
    int scale = ed.AddValue(oname + "_rescale", DataType::kFloat32);
    ed.AddNode("MatMulInteger", {aq[0], wq, aq[2], wz}, {acc});
    ed.AddNode("Cast", {acc}, {accf}, {IntAttr("to", 1)});
    ed.AddNode("Mul", {aq[1], ws}, {scale});
    if (c_id < 0) {
      ed.AddNode("Mul", {accf, scale}, {n.outputs[0]});
    } else {
      int scaled = ed.AddValue(oname + "_scaled", DataType::kFloat32);
      ed.AddNode("Mul", {accf, scale}, {scaled});
      TERN_ASSIGN_OR_RETURN(int bias, ed.ScaledInitializer(c_id, AttrFloat(n, "beta", 1.0f)));
      ed.AddNode("Add", {scaled, bias}, {n.outputs[0]});
    }
    erase[i] = true;
    ++summary->converted_weights;
    ++summary->quantized_nodes;
  }
  ed.EraseNodes(erase);
  return ed.Finish();
}

}  // namespace tern::compress
