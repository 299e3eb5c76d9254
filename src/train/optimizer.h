// Optimizers that update parameters in place from their gradients: SGD with momentum (the
// PyTorch form, v = mu v + g) and Adam with bias correction (Kingma & Ba 2015). Slot memory
// (velocities, moments) is allocated once at creation, so a step allocates nothing.
#pragma once

#include <memory>
#include <vector>

#include "tern/status.h"
#include "tern/tensor.h"

namespace tern::train {

struct OptimizerConfig {
  enum class Kind { kSgd, kAdam } kind = Kind::kSgd;
  float learning_rate = 0.01f;
  float momentum = 0.0f;  ///< SGD: v = momentum * v + g; p -= lr * v
  float beta1 = 0.9f;     ///< Adam
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  float weight_decay = 0.0f;  ///< L2 penalty added to the gradient
};

class Optimizer {
 public:
  /// Slots for parameters shaped like `params` (float32 or float64).
  static Result<std::unique_ptr<Optimizer>> Create(const OptimizerConfig& config,
                                                   const std::vector<Tensor>& params);
  /// Updates params[i] from grads[i] (same shapes and types as at creation).
  Status Step(std::vector<Tensor>& params, const std::vector<Tensor>& grads);
  const OptimizerConfig& config() const { return config_; }
  void set_learning_rate(float lr) { config_.learning_rate = lr; }
  int64_t steps() const { return steps_; }

 private:
  explicit Optimizer(const OptimizerConfig& config) : config_(config) {}
  OptimizerConfig config_;
  std::vector<std::vector<double>> m_, v_;  // velocity (SGD) or first/second moments (Adam)
  int64_t steps_ = 0;
};

}  // namespace tern::train
