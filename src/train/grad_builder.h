// Internal to src/train: the emitter the gradient rules use to append backward nodes, and the
// table of rules (grad_rules.cc).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "tern/status.h"

namespace tern::train {

/// Appends nodes and values to a graph under construction.
class GradBuilder {
 public:
  explicit GradBuilder(ir::Graph& graph) : graph_(graph) {}
  ir::Graph& graph() { return graph_; }

  /// A fresh value named after `hint`.
  int NewValue(const std::string& hint);
  /// Appends a node; outputs[i] is false for outputs nobody needs (left out, id -1).
  /// Returns the output value ids (-1 where left out).
  std::vector<int> Emit(const std::string& op, const std::string& domain,
                        const std::vector<int>& inputs, const std::vector<bool>& outputs,
                        std::vector<ir::Attribute> attrs = {});
  /// One-output shorthand.
  int Emit1(const std::string& op, const std::string& domain, const std::vector<int>& inputs,
            std::vector<ir::Attribute> attrs = {});
  /// A scalar float constant (an initializer) of type `type` (float32 or float64).
  int ScalarConst(double v, DataType type, const Shape& shape = Shape{});
  int BoolConst(bool v);
  /// Adds `grad` to the contributions for value `v`.
  void AddGrad(int v, int grad) { grads_[v].push_back(grad); }
  /// The total gradient of `v` (a Sum node when there are several contributions), or -1.
  int TotalGrad(int v);

  /// Name of the node whose gradient is being emitted (prefixes the new node names).
  std::string scope;
  int onnx_opset = 13;  ///< opset of emitted ai.onnx nodes

 private:
  ir::Graph& graph_;
  std::map<int, std::vector<int>> grads_;
  int counter_ = 0;
};

using ir::FloatAttr;
using ir::IntAttr;
using ir::StringAttr;

/// What a rule sees: the forward node, its output gradients (-1 where none) and which inputs
/// need a gradient.
struct GradContext {
  const ir::Node& node;
  std::vector<int> dy;
  std::vector<bool> needs;  ///< per forward input
  /// Known rank of each forward input (-1 when unknown), from type inference.
  std::vector<int> input_rank;
  DataType dtype = DataType::kFloat32;  ///< element type of the gradients
};

/// Emits the gradients of ctx.node's inputs into `b` (b.AddGrad). NotImplemented when the op has
/// no rule or the rule does not cover this use of it.
Status EmitGradient(GradBuilder& b, const GradContext& ctx);
/// Input slots of `op` through which gradients flow (empty: no rule for the op).
std::vector<int> DifferentiableInputs(const ir::Node& node);

}  // namespace tern::train
