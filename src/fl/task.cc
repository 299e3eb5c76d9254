#include "fl/task.h"

namespace tern::fl {

const char* AlgorithmName(Algorithm a) {
  switch (a) {
    case Algorithm::kFedAvg:
      return "fedavg";
    case Algorithm::kFedProx:
      return "fedprox";
    case Algorithm::kFedAdam:
      return "fedadam";
    case Algorithm::kFedYogi:
      return "fedyogi";
    case Algorithm::kScaffold:
      return "scaffold";
  }
  return "?";
}

Result<Algorithm> ParseAlgorithm(const std::string& name) {
  for (Algorithm a : {Algorithm::kFedAvg, Algorithm::kFedProx, Algorithm::kFedAdam,
                      Algorithm::kFedYogi, Algorithm::kScaffold})
    if (name == AlgorithmName(a)) return a;
  return InvalidArgument("unknown algorithm '" + name +
                         "' (fedavg, fedprox, fedadam, fedyogi or scaffold)");
}

std::string IneligibleReason(const EligibilityRules& rules, const DeviceState& state) {
  if (rules.require_idle && !state.idle) return "not idle";
  if (rules.require_charging && !state.charging) return "not charging";
  if (rules.require_unmetered && !state.unmetered) return "on a metered network";
  if (state.examples < rules.min_examples)
    return "has " + std::to_string(state.examples) + " examples, needs " +
           std::to_string(rules.min_examples);
  return "";
}

Status ValidateTask(const FlTask& t) {
  const ClientPlan& p = t.plan;
  if (p.epochs <= 0 || p.batch <= 0 || !(p.learning_rate > 0) || !(p.momentum >= 0) ||
      !(p.momentum < 1) || !(p.prox_mu >= 0) || !(p.clip_norm >= 0) || p.max_steps < 0)
    return InvalidArgument(
        "client plan: epochs, batch, learning rate, momentum, mu or clip norm "
        "out of range");
  const RoundConfig& r = t.round;
  if (r.goal_count <= 0 || r.min_reports <= 0 || r.min_reports > r.goal_count)
    return InvalidArgument("round: need 0 < min_reports <= goal_count");
  if (!(r.over_selection >= 1) || !(r.deadline_s > 0) || !(r.selection_timeout_s > 0) ||
      r.max_attempts <= 0 || !(r.min_rejoin_s >= 0))
    return InvalidArgument("round: over-selection must be >= 1, timeouts positive");
  const ServerOptimizerConfig& s = t.server;
  if (!(s.learning_rate > 0) || !(s.beta1 >= 0 && s.beta1 < 1) || !(s.beta2 >= 0 && s.beta2 < 1) ||
      !(s.tau > 0))
    return InvalidArgument("server optimizer: learning rate, betas or tau out of range");
  if (t.population <= 0) return InvalidArgument("population must be positive");
  if (t.algorithm == Algorithm::kScaffold && p.momentum != 0)
    return InvalidArgument("SCAFFOLD's control-variate update assumes plain SGD (momentum 0)");
  return Status::Ok();
}

}  // namespace tern::fl
