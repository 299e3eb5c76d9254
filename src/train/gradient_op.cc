// The ONNX Gradient operator (ai.onnx.preview.training): a graph-level construct that asks for
// the derivatives of one value with respect to others. It has no kernel: before planning, each
// Gradient node is replaced by the backward nodes that the autodiff rules emit (the same rules
// that build training graphs), seeded with dY = 1 for every element of Y, so that the node's
// outputs are d(sum Y)/dX for each X in `xs`. Values in `zs` (and everything else) are held
// constant.
#include <algorithm>
#include <set>

#include "ir/infer.h"
#include "train/autodiff.h"
#include "train/grad_builder.h"

namespace tern::train {

namespace {

constexpr const char* kTrainingDomain = "ai.onnx.preview.training";

bool IsGradientNode(const ir::Node& n) {
  return n.op_type == "Gradient" && n.domain == kTrainingDomain;
}

std::vector<std::string> StringsAttr(const ir::Node& n, const char* name) {
  const ir::Attribute* a = n.attr(name);
  if (a == nullptr) return {};
  if (a->type == ir::AttrType::kStrings) return a->strings;
  if (a->type == ir::AttrType::kString) return {a->s};
  return {};
}

// A tensor of `like`'s shape filled with `v`.
int Filled(GradBuilder& b, int like, double v, DataType type) {
  const int shape = b.Emit1("Shape", "", {like});
  return b.Emit1("Expand", "", {b.ScalarConst(v, type), shape});
}

Status ExpandOne(ir::Graph& g, size_t index) {
  const ir::Node node = g.nodes[index];  // a copy: emitting appends to g.nodes
  const std::string where = node.Describe();
  const std::vector<std::string> xs = StringsAttr(node, "xs");
  const ir::Attribute* y_attr = node.attr("y");
  if (xs.empty()) return InvalidModel(where + ": attribute 'xs' is missing or empty");
  if (y_attr == nullptr || y_attr->type != ir::AttrType::kString)
    return InvalidModel(where + ": attribute 'y' is missing");
  const std::vector<std::string> zs = StringsAttr(node, "zs");
  if (node.inputs.size() != xs.size() + zs.size())
    return InvalidModel(where + ": expects " + std::to_string(xs.size() + zs.size()) +
                        " inputs (xs then zs), got " + std::to_string(node.inputs.size()));
  if (node.outputs.size() != xs.size())
    return InvalidModel(where + ": expects one output per name in 'xs'");
  const int y = g.FindValue(y_attr->s);
  if (y < 0) return InvalidModel(where + ": y names no value: '" + y_attr->s + "'");
  std::vector<int> x_values;
  for (size_t i = 0; i < xs.size(); ++i) {
    const int x = g.FindValue(xs[i]);
    if (x < 0 || x != node.inputs[i])
      return InvalidModel(where + ": input " + std::to_string(i) + " must be the value '" + xs[i] +
                          "' named in 'xs'");
    x_values.push_back(x);
  }
  const DataType type = g.values[y].type.elem;
  if (type != DataType::kFloat32 && type != DataType::kFloat64)
    return NotImplemented(where + ": gradients of " + std::string(DataTypeName(type)) +
                          " values are not supported (float and double are)");

  GradBuilder b(g);
  b.scope = node.name.empty() ? "Gradient" : node.name;
  // The forward part: every node before the Gradient node that is not itself a Gradient node.
  // Values depending on an x; ops without a rule depend on all their inputs so that the walk
  // stops at them with an error naming the node.
  std::vector<bool> depends(g.values.size(), false);
  for (int x : x_values) depends[x] = true;
  std::vector<size_t> forward;
  for (size_t i = 0; i < index; ++i) {
    const ir::Node& n = g.nodes[i];
    if (IsGradientNode(n)) continue;
    forward.push_back(i);
    std::vector<int> slots = DifferentiableInputs(n);
    if (slots.empty())
      for (size_t k = 0; k < n.inputs.size(); ++k) slots.push_back(static_cast<int>(k));
    bool any = false;
    for (int slot : slots)
      if (n.inputs[slot] >= 0 && depends[n.inputs[slot]]) any = true;
    for (int v : n.outputs)
      if (v >= 0) depends[v] = depends[v] || any;
  }
  if (g.values[y].producer >= static_cast<int>(index))
    return InvalidModel(where + ": y ('" + y_attr->s + "') is computed after the Gradient node");

  if (depends[y]) b.AddGrad(y, Filled(b, y, 1.0, type));
  for (size_t f = forward.size(); f-- > 0;) {
    const ir::Node n = g.nodes[forward[f]];
    GradContext ctx{n, {}, {}, {}, type};
    bool any_dy = false;
    for (int v : n.outputs) {
      const int d = v >= 0 ? b.TotalGrad(v) : -1;
      any_dy = any_dy || d >= 0;
      ctx.dy.push_back(d);
    }
    if (!any_dy) continue;
    ctx.needs.assign(n.inputs.size(), false);
    ctx.input_rank.assign(n.inputs.size(), -1);
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int v = n.inputs[k];
      if (v >= 0 && g.values[v].type.has_shape)
        ctx.input_rank[k] = static_cast<int>(g.values[v].type.dims.size());
    }
    for (int slot : DifferentiableInputs(n))
      if (n.inputs[slot] >= 0 && depends[n.inputs[slot]]) ctx.needs[slot] = true;
    b.scope = n.name.empty() ? n.op_type : n.name;
    TERN_RETURN_IF_ERROR(EmitGradient(b, ctx));
  }
  // Route each dY/dX to the Gradient node's output (zeros where Y does not depend on X).
  b.scope = node.name.empty() ? "Gradient" : node.name;
  for (size_t i = 0; i < x_values.size(); ++i) {
    const int out = node.outputs[i];
    if (out < 0) continue;
    int d = depends[y] ? b.TotalGrad(x_values[i]) : -1;
    if (d < 0) d = Filled(b, x_values[i], 0.0, type);
    ir::Node id;
    id.op_type = "Identity";
    id.opset = 13;
    id.name = b.scope + "/output_" + std::to_string(i);
    id.inputs = {d};
    id.outputs = {out};
    g.nodes.push_back(std::move(id));
  }
  g.nodes.erase(g.nodes.begin() + static_cast<std::ptrdiff_t>(index));
  return Status::Ok();
}

}  // namespace

bool HasGradientOps(const ir::Graph& graph) {
  return std::any_of(graph.nodes.begin(), graph.nodes.end(), IsGradientNode);
}

Status ExpandGradientOps(ir::Graph& graph) {
  while (true) {
    auto it = std::find_if(graph.nodes.begin(), graph.nodes.end(), IsGradientNode);
    if (it == graph.nodes.end()) break;
    ir::InferTypes(graph);
    TERN_RETURN_IF_ERROR(ExpandOne(graph, static_cast<size_t>(it - graph.nodes.begin())));
    TERN_RETURN_IF_ERROR(ir::SortAndVerify(graph));
  }
  return Status::Ok();
}

}  // namespace tern::train
