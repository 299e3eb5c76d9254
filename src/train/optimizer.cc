#include "train/optimizer.h"

#include <cmath>
#include <string>

namespace tern::train {

Result<std::unique_ptr<Optimizer>> Optimizer::Create(const OptimizerConfig& config,
                                                     const std::vector<Tensor>& params) {
  if (!(config.learning_rate > 0) || !(config.momentum >= 0 && config.momentum < 1) ||
      !(config.beta1 >= 0 && config.beta1 < 1) || !(config.beta2 >= 0 && config.beta2 < 1) ||
      !(config.epsilon > 0) || !(config.weight_decay >= 0))
    return InvalidArgument("optimizer: learning rate, momentum, betas or epsilon out of range");
  std::unique_ptr<Optimizer> opt(new Optimizer(config));
  for (const Tensor& p : params) {
    if (p.dtype() != DataType::kFloat32 && p.dtype() != DataType::kFloat64)
      return InvalidArgument(std::string("optimizer: parameters must be float32 or float64, got ") +
                             DataTypeName(p.dtype()));
    opt->m_.emplace_back(static_cast<size_t>(p.numel()), 0.0);
    if (config.kind == OptimizerConfig::Kind::kAdam)
      opt->v_.emplace_back(static_cast<size_t>(p.numel()), 0.0);
  }
  return opt;
}

namespace {

template <typename T>
void Update(const OptimizerConfig& c, int64_t step, T* p, const T* g, double* m, double* v,
            int64_t n) {
  const double lr = c.learning_rate, wd = c.weight_decay;
  if (c.kind == OptimizerConfig::Kind::kSgd) {
    for (int64_t i = 0; i < n; ++i) {
      const double gi = static_cast<double>(g[i]) + wd * static_cast<double>(p[i]);
      m[i] = c.momentum * m[i] + gi;
      p[i] = static_cast<T>(static_cast<double>(p[i]) - lr * m[i]);
    }
    return;
  }
  const double b1 = c.beta1, b2 = c.beta2;
  const double corr1 = 1.0 - std::pow(b1, static_cast<double>(step));
  const double corr2 = 1.0 - std::pow(b2, static_cast<double>(step));
  for (int64_t i = 0; i < n; ++i) {
    const double gi = static_cast<double>(g[i]) + wd * static_cast<double>(p[i]);
    m[i] = b1 * m[i] + (1 - b1) * gi;
    v[i] = b2 * v[i] + (1 - b2) * gi * gi;
    const double mhat = m[i] / corr1, vhat = v[i] / corr2;
    p[i] = static_cast<T>(static_cast<double>(p[i]) - lr * mhat / (std::sqrt(vhat) + c.epsilon));
  }
}

}  // namespace

Status Optimizer::Step(std::vector<Tensor>& params, const std::vector<Tensor>& grads) {
  if (params.size() != m_.size() || grads.size() != m_.size())
    return InvalidArgument("optimizer: expected " + std::to_string(m_.size()) + " parameters");
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].numel() != static_cast<int64_t>(m_[i].size()) ||
        grads[i].shape() != params[i].shape() || grads[i].dtype() != params[i].dtype())
      return InvalidArgument("optimizer: gradient " + std::to_string(i) + " " +
                             grads[i].shape().ToString() + " does not match its parameter " +
                             params[i].shape().ToString());
  ++steps_;
  for (size_t i = 0; i < params.size(); ++i) {
    double* v = v_.empty() ? nullptr : v_[i].data();
    if (params[i].dtype() == DataType::kFloat32)
      Update(config_, steps_, params[i].data<float>(), grads[i].data<float>(), m_[i].data(), v,
             params[i].numel());
    else
      Update(config_, steps_, params[i].data<double>(), grads[i].data<double>(), m_[i].data(), v,
             params[i].numel());
  }
  return Status::Ok();
}

}  // namespace tern::train
