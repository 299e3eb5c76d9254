// Builds training graphs (see autodiff.h): rewrites the forward nodes that behave differently in
// training (BatchNormalization with batch statistics, Dropout that drops), appends the loss, marks
// the values that depend on a parameter, then walks the nodes backwards emitting gradient nodes.
#include "train/autodiff.h"

#include <algorithm>
#include <set>

#include "ir/infer.h"
#include "train/grad_builder.h"

namespace tern::train {

int GradBuilder::NewValue(const std::string& hint) {
  std::string name = hint;
  while (graph_.FindValue(name) >= 0) name = hint + "_" + std::to_string(++counter_);
  return graph_.AddValue(name);
}

std::vector<int> GradBuilder::Emit(const std::string& op, const std::string& domain,
                                   const std::vector<int>& inputs, const std::vector<bool>& outputs,
                                   std::vector<ir::Attribute> attrs) {
  ir::Node n;
  n.op_type = op;
  n.domain = domain;
  n.opset = domain.empty() ? onnx_opset : 1;
  n.name = "grad/" + scope + "/" + op + "_" + std::to_string(++counter_);
  n.inputs = inputs;
  n.attrs = std::move(attrs);
  const int index = static_cast<int>(graph_.nodes.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    int v = -1;
    if (outputs[i]) {
      v = NewValue(n.name + ":" + std::to_string(i));
      graph_.values[v].producer = index;
    }
    n.outputs.push_back(v);
  }
  graph_.nodes.push_back(std::move(n));
  return graph_.nodes.back().outputs;
}

int GradBuilder::Emit1(const std::string& op, const std::string& domain,
                       const std::vector<int>& inputs, std::vector<ir::Attribute> attrs) {
  return Emit(op, domain, inputs, {true}, std::move(attrs))[0];
}

int GradBuilder::ScalarConst(double v, DataType type, const Shape& shape) {
  const int id = NewValue("grad/const");
  ir::Value& val = graph_.values[id];
  val.is_initializer = true;
  val.initializer = type == DataType::kFloat64
                        ? Tensor::FromVector<double>(type, shape, {v})
                        : Tensor::FromVector<float>(type, shape, {static_cast<float>(v)});
  return id;
}

int GradBuilder::BoolConst(bool v) {
  const int id = NewValue("grad/const");
  graph_.values[id].is_initializer = true;
  graph_.values[id].initializer = Tensor::FromVector<uint8_t>(DataType::kBool, Shape{}, {v});
  return id;
}

int GradBuilder::TotalGrad(int v) {
  auto it = grads_.find(v);
  if (it == grads_.end() || it->second.empty()) return -1;
  if (it->second.size() > 1) {
    const int sum = Emit1("Sum", "", it->second);
    it->second.assign(1, sum);
  }
  return it->second[0];
}

namespace {

Status Promote(ir::Graph& g, const std::string& name, std::vector<size_t>* positions) {
  const int v = g.FindValue(name);
  if (v < 0 || !g.values[v].is_initializer)
    return InvalidArgument("'" + name + "' is not an initializer of the model");
  ir::Value& val = g.values[v];
  val.is_initializer = false;
  val.is_input = true;
  val.type.kind = ir::TypeInfo::Kind::kTensor;
  val.type.elem = val.initializer.dtype();
  val.type.has_shape = true;
  val.type.dims.clear();
  for (int64_t d : val.initializer.shape()) val.type.dims.push_back(ir::Dim{d, ""});
  auto it = std::find(g.inputs.begin(), g.inputs.end(), v);
  if (it == g.inputs.end()) it = g.inputs.insert(g.inputs.end(), v);
  positions->push_back(static_cast<size_t>(it - g.inputs.begin()));
  return Status::Ok();
}

int AddInput(ir::Graph& g, const std::string& hint) {
  std::string name = hint;
  for (int i = 1; g.FindValue(name) >= 0; ++i) name = hint + "_" + std::to_string(i);
  const int v = g.AddValue(name);
  g.values[v].is_input = true;
  g.inputs.push_back(v);
  return v;
}

// Rewrites BatchNormalization and Dropout for training; collects BN running statistics.
void PrepareForTraining(ir::Graph& g, const TrainingGraphOptions& opt, GradBuilder& b,
                        std::vector<std::pair<int, int>>* state_updates) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    ir::Node& n = g.nodes[i];
    if (!n.domain.empty()) continue;
    b.scope = n.name;
    if (n.op_type == "BatchNormalization" && opt.batch_norm_training && n.inputs.size() == 5) {
      n.opset = std::max(n.opset, 15);
      n.attrs.erase(std::remove_if(n.attrs.begin(), n.attrs.end(),
                                   [](const ir::Attribute& a) {
                                     return a.name == "training_mode" || a.name == "spatial" ||
                                            a.name == "consumed_inputs";
                                   }),
                    n.attrs.end());
      n.attrs.push_back(IntAttr("training_mode", 1));
      n.outputs.resize(3, -1);
      for (int k = 1; k <= 2; ++k) {
        const int stat = n.inputs[2 + k];
        if (n.outputs[k] < 0) {
          n.outputs[k] = b.NewValue(g.values[stat].name + "/updated");
          g.values[n.outputs[k]].producer = static_cast<int>(i);
        }
        if (g.values[stat].is_initializer) state_updates->push_back({stat, n.outputs[k]});
      }
    } else if (n.op_type == "Dropout" && opt.dropout_training) {
      float ratio = 0.5f;
      if (const ir::Attribute* a = n.attr("ratio")) ratio = a->f;
      int ratio_v = n.inputs.size() > 1 ? n.inputs[1] : -1;
      if (ratio_v < 0) ratio_v = b.ScalarConst(ratio, DataType::kFloat32);
      n.opset = std::max(n.opset, 13);
      n.attrs.erase(std::remove_if(n.attrs.begin(), n.attrs.end(),
                                   [](const ir::Attribute& a) { return a.name != "seed"; }),
                    n.attrs.end());
      n.inputs.resize(3, -1);
      n.inputs[1] = ratio_v;
      n.inputs[2] = b.BoolConst(true);
      n.outputs.resize(2, -1);
      if (n.outputs[1] < 0) {
        n.outputs[1] = b.NewValue(n.name + "/mask");
        g.values[n.outputs[1]].producer = static_cast<int>(i);
      }
    }
  }
}

}  // namespace

Result<std::shared_ptr<ir::Graph>> PromoteToInputs(const ir::Graph& forward,
                                                   const std::vector<std::string>& names,
                                                   std::vector<size_t>* input_positions) {
  auto g = std::make_shared<ir::Graph>(forward);
  input_positions->clear();
  for (const auto& name : names) TERN_RETURN_IF_ERROR(Promote(*g, name, input_positions));
  return g;
}

Result<TrainingGraph> BuildTrainingGraph(const ir::Graph& forward,
                                         const TrainingGraphOptions& opt) {
  TrainingGraph tg;
  tg.graph = std::make_shared<ir::Graph>(forward);
  ir::Graph& g = *tg.graph;
  if (g.outputs.empty()) return InvalidArgument("the model has no outputs");
  ir::InferTypes(g);
  GradBuilder b(g);

  // The data input: the first graph input that is not an initializer.
  std::vector<int> required = g.RequiredInputs();
  if (required.empty()) return InvalidArgument("the model has no data input");
  tg.data_input = static_cast<size_t>(std::find(g.inputs.begin(), g.inputs.end(), required[0]) -
                                      g.inputs.begin());

  // The prediction and the loss.
  int pred = g.outputs[0];
  if (!opt.prediction.empty()) {
    pred = g.FindValue(opt.prediction);
    if (pred < 0) return InvalidArgument("no value named '" + opt.prediction + "'");
  }
  int loss = pred;
  b.scope = "loss";
  if (opt.loss != LossKind::kNone) {
    const int label = AddInput(g, "label");
    tg.label_input = g.inputs.size() - 1;
    if (opt.loss == LossKind::kSoftmaxCrossEntropy) {
      g.values[label].type.kind = ir::TypeInfo::Kind::kTensor;
      g.values[label].type.elem = DataType::kInt64;
      loss = b.Emit1("SoftmaxCrossEntropyLoss", "", {pred, label});
    } else {
      loss = b.Emit1("MeanSquaredError", "ai.tern", {pred, label});
    }
  }
  std::vector<std::pair<int, int>> state_updates;
  PrepareForTraining(g, opt, b, &state_updates);

  // Parameters: the named initializers, or every float initializer at a differentiable input.
  std::vector<std::string> params = opt.trainable;
  std::set<int> state_values;
  for (const auto& s : state_updates) state_values.insert(s.first);
  if (params.empty()) {
    std::set<int> seen;
    for (const auto& n : g.nodes)
      for (int slot : DifferentiableInputs(n)) {
        const int v = n.inputs[slot];
        if (v < 0 || !g.values[v].is_initializer || state_values.count(v) || seen.count(v))
          continue;
        const DataType t = g.values[v].initializer.dtype();
        if (t != DataType::kFloat32 && t != DataType::kFloat64) continue;
        seen.insert(v);
        params.push_back(g.values[v].name);
      }
  }
  if (params.empty()) return InvalidArgument("nothing to train: no float initializers");
  std::vector<size_t> positions;
  for (const auto& name : params) TERN_RETURN_IF_ERROR(Promote(g, name, &positions));
  for (const auto& [stat, updated] : state_updates) {
    tg.states.push_back(g.values[stat].name);
    TERN_RETURN_IF_ERROR(Promote(g, g.values[stat].name, &tg.state_inputs));
  }
  tg.params = params;
  tg.param_inputs = positions;

  // Which values depend on a parameter; the backward walk only visits nodes whose outputs
  // received a gradient from the loss.
  const size_t forward_nodes = g.nodes.size();
  std::vector<bool> depends(g.values.size(), false);
  for (const auto& name : params) depends[g.FindValue(name)] = true;
  // Ops without a rule count as depending on all their inputs, so that the backward walk stops
  // at them with an error naming the node; ops whose outputs are never differentiable don't.
  static const std::set<std::string> kConstantOutputs = {
      "Shape", "Size", "ArgMax", "ArgMin", "Equal", "Greater", "Less", "NonZero", "Not"};
  for (const auto& n : g.nodes) {
    bool any = false;
    std::vector<int> slots = DifferentiableInputs(n);
    if (slots.empty() && !(n.domain.empty() && kConstantOutputs.count(n.op_type)))
      for (size_t k = 0; k < n.inputs.size(); ++k) slots.push_back(static_cast<int>(k));
    for (int slot : slots)
      if (n.inputs[slot] >= 0 && depends[n.inputs[slot]]) any = true;
    for (int v : n.outputs)
      if (v >= 0) depends[v] = any;
  }
  if (!depends[loss]) return InvalidArgument("the loss does not depend on any parameter");
  const DataType grad_type = g.values[g.FindValue(params[0])].initializer.dtype();
  b.AddGrad(loss, b.ScalarConst(1.0, grad_type));
  for (size_t i = forward_nodes; i-- > 0;) {
    const ir::Node n = g.nodes[i];  // a copy: emitting appends to g.nodes
    GradContext ctx{n, {}, {}, {}, grad_type};
    bool any_dy = false;
    for (int v : n.outputs) {
      const int d = v >= 0 ? b.TotalGrad(v) : -1;
      any_dy = any_dy || d >= 0;
      ctx.dy.push_back(d);
    }
    if (!any_dy) continue;
    std::vector<int> slots = DifferentiableInputs(n);
    ctx.needs.assign(n.inputs.size(), false);
    ctx.input_rank.assign(n.inputs.size(), -1);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int v = n.inputs[k];
      if (v >= 0 && g.values[v].type.has_shape)
        ctx.input_rank[k] = static_cast<int>(g.values[v].type.dims.size());
    }
    for (int slot : slots)
      if (n.inputs[slot] >= 0 && depends[n.inputs[slot]]) ctx.needs[slot] = true;
    b.scope = n.name.empty() ? n.op_type : n.name;
    TERN_RETURN_IF_ERROR(EmitGradient(b, ctx));
  }

  // Outputs: loss, prediction, gradients, updated statistics.
  g.outputs = {loss, pred};
  tg.loss_output = 0;
  tg.prediction_output = 1;
  for (const auto& name : params) {
    const int d = b.TotalGrad(g.FindValue(name));
    if (d < 0) return InvalidArgument("parameter '" + name + "' does not affect the loss");
    tg.grad_outputs.push_back(g.outputs.size());
    g.outputs.push_back(d);
  }
  for (const auto& [stat, updated] : state_updates) {
    tg.state_outputs.push_back(g.outputs.size());
    g.outputs.push_back(updated);
  }
  TERN_RETURN_IF_ERROR(ir::SortAndVerify(g));
  return tg;
}

}  // namespace tern::train
