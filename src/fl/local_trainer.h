// A libtern Trainer for one model architecture that federated rounds reuse: each round loads the
// global parameters into it instead of building a new training graph and memory plan. A device
// keeps one per task; the simulation keeps one per worker thread and shares it among the clients
// that the thread trains.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fl/params.h"
#include "train/dataset.h"
#include "train/trainer.h"

namespace tern::fl {

/// Accuracy and mean softmax cross-entropy of a classifier on labelled examples.
struct Evaluation {
  double accuracy = 0;
  double loss = 0;
  int64_t examples = 0;
};

class LocalTrainer {
 public:
  /// Every float initializer that reaches the loss is trained (softmax cross-entropy on the
  /// model's first output); BatchNormalization running statistics are carried as states.
  static Result<std::unique_ptr<LocalTrainer>> Create(const std::string& onnx_bytes);

  const ParamLayout& params() const { return params_; }
  const ParamLayout& states() const { return states_; }
  /// The values of the trained parameters and states as the model stores them.
  const std::vector<float>& initial_params() const { return initial_params_; }
  const std::vector<float>& initial_states() const { return initial_states_; }

  /// Loads parameter and state values (flat, in layout order) and resets the optimizer.
  Status Load(const std::vector<float>& params, const std::vector<float>& states,
              const train::OptimizerConfig& optimizer);
  /// Current values after training.
  Status Read(std::vector<float>* params, std::vector<float>* states) const;
  /// Evaluates `params`/`states` on `data` (int64 class labels).
  Result<Evaluation> Evaluate(const std::vector<float>& params, const std::vector<float>& states,
                              const train::Dataset& data, int64_t batch = 500);
  train::Trainer& trainer() { return *trainer_; }

 private:
  std::unique_ptr<train::Trainer> trainer_;
  ParamLayout params_, states_;
  std::vector<float> initial_params_, initial_states_;
};

}  // namespace tern::fl
