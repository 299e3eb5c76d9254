// Gradient rules: for each supported forward op, the backward nodes that turn the gradients of
// its outputs into gradients of its inputs. Broadcasting ops reduce with ai.tern.SumTo; Gemm and
// 2-D MatMul reuse Gemm with transposes; MatMul of higher rank uses Einsum over "...".
#include <algorithm>
#include <set>

#include "train/grad_builder.h"

namespace tern::train {
namespace {

const char* const kTern = "ai.tern";

std::vector<ir::Attribute> CopyAttrs(const ir::Node& n, std::initializer_list<const char*> names) {
  std::vector<ir::Attribute> out;
  for (const char* name : names)
    if (const ir::Attribute* a = n.attr(name)) out.push_back(*a);
  return out;
}

int64_t IntOf(const ir::Node& n, const char* name, int64_t fallback) {
  const ir::Attribute* a = n.attr(name);
  return a && a->type == ir::AttrType::kInt ? a->i : fallback;
}

float FloatOf(const ir::Node& n, const char* name, float fallback) {
  const ir::Attribute* a = n.attr(name);
  return a && a->type == ir::AttrType::kFloat ? a->f : fallback;
}

Status Unsupported(const ir::Node& n, const std::string& why) {
  return NotImplemented(n.Describe() + ": no gradient: " + why);
}

// Gemm: Y = alpha * op(A) op(B) + beta * C, op = transpose when transA/transB.
void GemmRule(GradBuilder& b, const GradContext& c) {
  const auto& in = c.node.inputs;
  const int dy = c.dy[0];
  const int64_t ta = IntOf(c.node, "transA", 0), tb = IntOf(c.node, "transB", 0);
  const float alpha = FloatOf(c.node, "alpha", 1.0f), beta = FloatOf(c.node, "beta", 1.0f);
  auto gemm = [&](int a, int bb, int64_t t1, int64_t t2) {
    return b.Emit1("Gemm", "", {a, bb},
                   {IntAttr("transA", t1), IntAttr("transB", t2), FloatAttr("alpha", alpha)});
  };
  if (c.needs[0]) b.AddGrad(in[0], ta ? gemm(in[1], dy, tb, 1) : gemm(dy, in[1], 0, !tb));
  if (c.needs[1]) b.AddGrad(in[1], tb ? gemm(dy, in[0], 1, ta) : gemm(in[0], dy, !ta, 0));
  if (in.size() > 2 && in[2] >= 0 && c.needs[2]) {
    int g = dy;
    if (beta != 1.0f) g = b.Emit1("Mul", "", {dy, b.ScalarConst(beta, c.dtype)});
    b.AddGrad(in[2], b.Emit1("SumTo", kTern, {g, in[2]}));
  }
}

Status MatMulRule(GradBuilder& b, const GradContext& c) {
  const auto& in = c.node.inputs;
  const int dy = c.dy[0];
  if (c.input_rank[0] == 2 && c.input_rank[1] == 2) {
    auto gemm = [&](int x, int y, int64_t t1, int64_t t2) {
      return b.Emit1("Gemm", "", {x, y}, {IntAttr("transA", t1), IntAttr("transB", t2)});
    };
    if (c.needs[0]) b.AddGrad(in[0], gemm(dy, in[1], 0, 1));
    if (c.needs[1]) b.AddGrad(in[1], gemm(in[0], dy, 1, 0));
    return Status::Ok();
  }
  if (c.input_rank[0] < 2 || c.input_rank[1] < 2)
    return Unsupported(c.node, "MatMul needs inputs of known rank >= 2");
  if (c.needs[0]) {
    int g = b.Emit1("Einsum", "", {dy, in[1]}, {StringAttr("equation", "...ij,...kj->...ik")});
    b.AddGrad(in[0], b.Emit1("SumTo", kTern, {g, in[0]}));
  }
  if (c.needs[1]) {
    int g = b.Emit1("Einsum", "", {in[0], dy}, {StringAttr("equation", "...ik,...ij->...kj")});
    b.AddGrad(in[1], b.Emit1("SumTo", kTern, {g, in[1]}));
  }
  return Status::Ok();
}

void ArithRule(GradBuilder& b, const GradContext& c) {
  const auto& in = c.node.inputs;
  const std::string& op = c.node.op_type;
  const int dy = c.dy[0];
  auto sum_to = [&](int g, int like) { return b.Emit1("SumTo", kTern, {g, like}); };
  if (op == "Add" || op == "Sub") {
    if (c.needs[0]) b.AddGrad(in[0], sum_to(dy, in[0]));
    if (c.needs[1]) {
      const int g = op == "Sub" ? b.Emit1("Neg", "", {dy}) : dy;
      b.AddGrad(in[1], sum_to(g, in[1]));
    }
  } else if (op == "Mul") {
    if (c.needs[0]) b.AddGrad(in[0], sum_to(b.Emit1("Mul", "", {dy, in[1]}), in[0]));
    if (c.needs[1]) b.AddGrad(in[1], sum_to(b.Emit1("Mul", "", {dy, in[0]}), in[1]));
  } else {  // Div: dA = dY / B, dB = -(dY / B) * Y
    const int t = b.Emit1("Div", "", {dy, in[1]});
    if (c.needs[0]) b.AddGrad(in[0], sum_to(t, in[0]));
    if (c.needs[1]) {
      const int p = b.Emit1("Mul", "", {t, c.node.outputs[0]});
      b.AddGrad(in[1], sum_to(b.Emit1("Neg", "", {p}), in[1]));
    }
  }
}

Status SoftmaxRule(GradBuilder& b, const GradContext& c) {
  const bool coerce = c.node.opset < 13;
  std::vector<ir::Attribute> attrs = {IntAttr("coerce_2d", coerce ? 1 : 0),
                                      IntAttr("axis", IntOf(c.node, "axis", coerce ? 1 : -1))};
  const std::string op = c.node.op_type + "Grad";
  b.AddGrad(c.node.inputs[0], b.Emit1(op, kTern, {c.dy[0], c.node.outputs[0]}, attrs));
  return Status::Ok();
}

}  // namespace

namespace {

std::vector<int> RuleInputs(const ir::Node& n) {
  const std::string& op = n.op_type;
  if (n.domain == kTern) {
    if (op == "MeanSquaredError") return {0};
    return {};
  }
  if (!n.domain.empty()) return {};
  static const std::set<std::string> kUnary = {"Identity",    "Relu",
                                               "LeakyRelu",   "Sigmoid",
                                               "Tanh",        "MaxPool",
                                               "AveragePool", "GlobalAveragePool",
                                               "Flatten",     "Reshape",
                                               "Dropout",     "Softmax",
                                               "LogSoftmax",  "SoftmaxCrossEntropyLoss"};
  if (kUnary.count(op)) return {0};
  if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "MatMul") return {0, 1};
  if (op == "Gemm" || op == "Conv" || op == "BatchNormalization") return {0, 1, 2};
  if (op == "Concat") {
    std::vector<int> all;
    for (size_t i = 0; i < n.inputs.size(); ++i) all.push_back(static_cast<int>(i));
    return all;
  }
  return {};
}

}  // namespace

std::vector<int> DifferentiableInputs(const ir::Node& n) {
  std::vector<int> slots = RuleInputs(n);  // optional inputs (Gemm's C, Conv's B) may be absent
  slots.erase(std::remove_if(slots.begin(), slots.end(),
                             [&](int s) { return s >= static_cast<int>(n.inputs.size()); }),
              slots.end());
  return slots;
}

Status EmitGradient(GradBuilder& b, const GradContext& c) {
  const ir::Node& n = c.node;
  const std::string& op = n.op_type;
  const auto& in = n.inputs;
  const int dy = c.dy.empty() ? -1 : c.dy[0];
  for (size_t o = 1; o < c.dy.size(); ++o)
    if (c.dy[o] >= 0 && !(op == "BatchNormalization" || op == "Dropout"))
      return Unsupported(n, "output " + std::to_string(o) + " is differentiated");
  if (dy < 0) return Status::Ok();  // only non-differentiable outputs were used
  if (op == "Identity" || (op == "Dropout" && in.size() < 3)) {
    b.AddGrad(in[0], dy);  // Dropout without a training_mode input is the identity
  } else if (op == "Relu" || op == "LeakyRelu") {
    b.AddGrad(in[0], b.Emit1(op + "Grad", kTern, {dy, in[0]}, CopyAttrs(n, {"alpha"})));
  } else if (op == "Sigmoid" || op == "Tanh") {
    b.AddGrad(in[0], b.Emit1(op + "Grad", kTern, {dy, n.outputs[0]}));
  } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
    ArithRule(b, c);
  } else if (op == "Gemm") {
    GemmRule(b, c);
  } else if (op == "MatMul") {
    return MatMulRule(b, c);
  } else if (op == "Conv") {
    const bool has_bias = in.size() > 2 && in[2] >= 0;
    std::vector<int> g = b.Emit(
        "ConvGrad", kTern, {dy, in[0], in[1]}, {c.needs[0], c.needs[1], has_bias && c.needs[2]},
        CopyAttrs(n, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
    for (int i = 0; i < 3; ++i)
      if (g[i] >= 0) b.AddGrad(in[i], g[i]);
  } else if (op == "MaxPool" || op == "AveragePool") {
    if (n.outputs.size() > 1 && n.outputs[1] >= 0 && op == "MaxPool" &&
        IntOf(n, "storage_order", 0) != 0)
      return Unsupported(n, "storage_order");
    b.AddGrad(in[0], b.Emit1(op + "Grad", kTern, {dy, in[0]},
                             CopyAttrs(n, {"auto_pad", "ceil_mode", "count_include_pad",
                                           "dilations", "kernel_shape", "pads", "strides"})));
  } else if (op == "GlobalAveragePool") {
    b.AddGrad(in[0], b.Emit1("GlobalAveragePoolGrad", kTern, {dy, in[0]}));
  } else if (op == "Flatten" || op == "Reshape") {
    const int shape = b.Emit1("Shape", "", {in[0]});
    b.AddGrad(in[0], b.Emit1("Reshape", "", {dy, shape}));
  } else if (op == "Concat") {
    std::vector<int> ins = {dy};
    ins.insert(ins.end(), in.begin(), in.end());
    std::vector<int> g = b.Emit("ConcatGrad", kTern, ins, c.needs, CopyAttrs(n, {"axis"}));
    for (size_t i = 0; i < in.size(); ++i)
      if (g[i] >= 0) b.AddGrad(in[i], g[i]);
  } else if (op == "BatchNormalization") {
    if (in.size() < 5) return Unsupported(n, "BatchNormalization needs 5 inputs");
    std::vector<ir::Attribute> attrs = CopyAttrs(n, {"epsilon"});
    attrs.push_back(IntAttr("training_mode", IntOf(n, "training_mode", 0)));
    std::vector<int> g = b.Emit("BatchNormGrad", kTern, {dy, in[0], in[1], in[3], in[4]},
                                {c.needs[0], c.needs[1], c.needs[2]}, attrs);
    for (int i = 0; i < 3; ++i)
      if (g[i] >= 0) b.AddGrad(in[i], g[i]);
  } else if (op == "Dropout") {
    if (n.outputs.size() < 2 || n.outputs[1] < 0) return Unsupported(n, "no mask output");
    b.AddGrad(in[0], b.Emit1("DropoutGrad", kTern, {dy, n.outputs[1], in[1]}));
  } else if (op == "Softmax" || op == "LogSoftmax") {
    return SoftmaxRule(b, c);
  } else if (op == "SoftmaxCrossEntropyLoss") {
    std::vector<int> ins = {dy, in[0], in[1]};
    if (in.size() > 2 && in[2] >= 0) ins.push_back(in[2]);
    b.AddGrad(in[0], b.Emit1("SoftmaxCrossEntropyLossGrad", kTern, ins,
                             CopyAttrs(n, {"reduction", "ignore_index"})));
  } else if (op == "MeanSquaredError" && n.domain == kTern) {
    b.AddGrad(in[0], b.Emit1("MeanSquaredErrorGrad", kTern, {dy, in[0], in[1]}));
  } else {
    return Unsupported(n, "op is not supported");
  }
  return Status::Ok();
}

}  // namespace tern::train
