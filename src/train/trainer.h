// Trainer: owns a model, its training graph and an inference graph (both run by executors with
// memory plans), the current parameters and the optimizer. One Step = forward + backward on a
// batch, then an optimizer update; Predict runs the model with the current parameters
// (BatchNormalization on running statistics, Dropout off).
#pragma once

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
  std::vector<const tern::Value*> feeds_;
  std::vector<tern::Value> param_values_, state_values_, outputs_;
};

}  // namespace tern::train
