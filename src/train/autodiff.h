// Reverse-mode differentiation on the IR: turns a forward graph into a training graph.
//
// Design: the backward pass is a graph of ordinary nodes appended after the forward nodes (ONNX
// ops such as Gemm, Mul, Reshape, Sum, plus gradient ops of the "ai.tern" domain whose reference
// kernels live in src/ep/ref/ops/grad_*.cc: ConvGrad, MaxPoolGrad, BatchNormGrad, SumTo, ...).
// The executor runs forward and backward as one graph, so training reuses its memory plan (one
// arena for activations and gradients, sized from value lifetimes), its providers and its error
// reporting, and a gradient kernel is tested like any other kernel. A separate tape with its own
// backward kernels would have duplicated all of that.
//
// The training graph takes the data input, a label input and every trainable parameter (and
// BatchNormalization running statistics) as graph inputs, so that an optimizer can update them
// between steps without rebuilding anything; it returns the loss, the prediction, one gradient
// per parameter and the updated running statistics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "tern/status.h"

namespace tern::train {

enum class LossKind { kNone, kSoftmaxCrossEntropy, kMeanSquaredError };

struct TrainingGraphOptions {
  /// Names of trainable initializers; empty trains every float initializer that feeds a
  /// differentiable input (weights, biases, BatchNormalization scale and bias).
  std::vector<std::string> trainable;
  /// The loss appended to `prediction`; kNone when the graph's `prediction` already is the loss.
  LossKind loss = LossKind::kSoftmaxCrossEntropy;
  /// The output the loss is computed from; empty picks the graph's first output.
  std::string prediction;
  /// BatchNormalization uses batch statistics (and updates its running statistics); false keeps
  /// it frozen on the running statistics.
  bool batch_norm_training = true;
  /// Dropout drops in training; false makes it the identity.
  bool dropout_training = true;
};

/// A training graph and where its inputs and outputs are.
struct TrainingGraph {
  std::shared_ptr<ir::Graph> graph;
  size_t data_input = 0;             ///< index in graph->inputs
  size_t label_input = 0;            ///< index in graph->inputs (kNone: unused)
  std::vector<std::string> params;   ///< trainable initializers
  std::vector<size_t> param_inputs;  ///< index in graph->inputs of each param
  std::vector<size_t> grad_outputs;  ///< index in graph->outputs of each param's gradient
  size_t loss_output = 0;
  size_t prediction_output = 1;
  /// Running statistics of BatchNormalization in training mode: fed as inputs, returned updated.
  std::vector<std::string> states;
  std::vector<size_t> state_inputs;
  std::vector<size_t> state_outputs;
};

/// Builds the training graph of `forward` (which is not changed). Fails with NotImplemented
/// naming the node when a node between a parameter and the loss has no gradient rule.
Result<TrainingGraph> BuildTrainingGraph(const ir::Graph& forward,
                                         const TrainingGraphOptions& options);

/// A copy of `forward` in which the named initializers are graph inputs (appended in order), so
/// that inference can run with the parameters a trainer holds.
Result<std::shared_ptr<ir::Graph>> PromoteToInputs(const ir::Graph& forward,
                                                   const std::vector<std::string>& names,
                                                   std::vector<size_t>* input_positions);

/// True when the graph holds ONNX Gradient nodes (domain ai.onnx.preview.training).
bool HasGradientOps(const ir::Graph& graph);
/// Replaces every Gradient node of the graph by the backward nodes that compute its outputs,
/// d(sum of y)/dx for each x in its `xs` (see gradient_op.cc). Fails naming the node when an op
/// between an x and y has no gradient rule.
Status ExpandGradientOps(ir::Graph& graph);

}  // namespace tern::train
