// Trainer: owns a model, its training graph and an inference graph (both run by executors with
// memory plans), the current parameters and the optimizer. One Step = forward + backward on a
// batch, then an optimizer update; Predict runs the model with the current parameters
// (BatchNormalization on running statistics, Dropout off).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ir/graph.h"
#include "tern/value.h"
#include "train/autodiff.h"
#include "train/optimizer.h"

namespace tern {
class Executor;
class ThreadPool;
}  // namespace tern

namespace tern::train {

struct TrainerOptions {
  TrainingGraphOptions graph;
  OptimizerConfig optimizer;
};

/// Called after the backward pass with the current parameters and their gradients, before the
/// optimizer step; may change the gradients in place (federated learning adds a proximal term or
/// control variates here, so the loss graph stays the model's own).
using GradientHook =
    std::function<Status(const std::vector<Tensor>& params, std::vector<Tensor>& grads)>;

class Trainer {
 public:
  static Result<std::unique_ptr<Trainer>> Create(ir::Model model, const TrainerOptions& options);
  ~Trainer();

  /// One optimizer step on a batch; returns the batch loss (before the update).
  Result<double> Step(const Tensor& data, const Tensor& label);
  /// The model's first output for `data` with the current parameters.
  Result<Tensor> Predict(const Tensor& data);
  /// Current values of the trained parameters and of the running statistics, by initializer name.
  std::vector<std::pair<std::string, Tensor>> Snapshot() const;
  /// Overwrites trained parameters and running statistics by name (same type and shape); names
  /// the trainer does not hold are an error. Federated clients start each round from this.
  Status SetValues(const std::vector<std::pair<std::string, Tensor>>& values);
  /// A fresh optimizer (zero momentum and moments, step 0) with `config`.
  Status ResetOptimizer(const OptimizerConfig& config);
  void set_gradient_hook(GradientHook hook) { gradient_hook_ = std::move(hook); }
  const TrainingGraph& training_graph() const { return tg_; }
  Optimizer& optimizer() { return *optimizer_; }
  /// Arena bytes of the training graph's memory plan (activations and gradients of one batch).
  uint64_t training_arena_bytes() const;

 private:
  Trainer() = default;
  ir::Model model_;
  TrainingGraph tg_;
  std::shared_ptr<ir::Graph> infer_graph_;
  std::vector<size_t> infer_param_inputs_, infer_state_inputs_;
  size_t infer_data_input_ = 0;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<Executor> train_exec_, infer_exec_;
  std::vector<Tensor> params_, states_, grads_;
  std::unique_ptr<Optimizer> optimizer_;
  GradientHook gradient_hook_;
  std::vector<const tern::Value*> feeds_;
  std::vector<tern::Value> param_values_, state_values_, outputs_;
};

}  // namespace tern::train
