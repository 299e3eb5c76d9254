#include "fl/server_optimizer.h"

#include <cmath>

namespace tern::fl {

Result<ServerOptimizer> ServerOptimizer::Create(Algorithm algorithm,
                                                const ServerOptimizerConfig& config, size_t params,
                                                int64_t population) {
  if (population <= 0) return InvalidArgument("population must be positive");
  ServerOptimizer s;
  s.algorithm_ = algorithm;
  s.config_ = config;
  s.population_ = population;
  if (algorithm == Algorithm::kFedAdam || algorithm == Algorithm::kFedYogi) {
    s.m_.assign(params, 0.0);
    s.v_.assign(params, config.tau * config.tau);
  }
  if (algorithm == Algorithm::kScaffold) s.control_.assign(params, 0.0f);
  if (!(config.momentum >= 0 && config.momentum < 1))
    return InvalidArgument("server momentum must be in [0, 1)");
  if (config.momentum > 0 && (algorithm == Algorithm::kFedAvg || algorithm == Algorithm::kFedProx))
    s.m_.assign(params, 0.0);
  return s;
}

Status ServerOptimizer::Apply(const UpdateTotals& t, std::vector<float>& params,
                              std::vector<float>& states) {
  if (t.weighted_delta.size() != params.size() || t.weighted_states.size() != states.size())
    return InvalidArgument("round totals do not match the model's parameters");
  if (!(t.weight > 0)) return InvalidArgument("round totals have no weight");
  if (algorithm_ == Algorithm::kScaffold && t.control_delta.size() != control_.size())
    return InvalidArgument("SCAFFOLD totals carry no control-variate sum");
  const double eta = config_.learning_rate, b1 = config_.beta1, b2 = config_.beta2;
  const bool adaptive = algorithm_ == Algorithm::kFedAdam || algorithm_ == Algorithm::kFedYogi;
  for (size_t i = 0; i < params.size(); ++i) {
    const double d = t.weighted_delta[i] / t.weight;
    double step = d;
    if (adaptive) {
      m_[i] = b1 * m_[i] + (1 - b1) * d;
      const double d2 = d * d;
      if (algorithm_ == Algorithm::kFedAdam) {
        v_[i] = b2 * v_[i] + (1 - b2) * d2;
      } else {
        // Yogi: v moves towards d^2 by an additive step, so it grows no faster than Adam's and
        // shrinks slowly, which keeps the effective step from exploding after quiet rounds.
        const double sign = v_[i] > d2 ? 1.0 : (v_[i] < d2 ? -1.0 : 0.0);
        v_[i] = v_[i] - (1 - b2) * d2 * sign;
      }
      step = m_[i] / (std::sqrt(v_[i]) + config_.tau);
    } else if (!m_.empty()) {
      step = m_[i] = config_.momentum * m_[i] + d;
    }
    params[i] = static_cast<float>(params[i] + eta * step);
  }
  for (size_t i = 0; i < states.size(); ++i)
    states[i] = static_cast<float>(t.weighted_states[i] / t.weight);
  if (algorithm_ == Algorithm::kScaffold) {
    const double inv_n = 1.0 / static_cast<double>(population_);
    for (size_t i = 0; i < control_.size(); ++i)
      control_[i] = static_cast<float>(control_[i] + inv_n * t.control_delta[i]);
  }
  return Status::Ok();
}

}  // namespace tern::fl
