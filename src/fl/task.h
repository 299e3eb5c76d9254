// A federated-learning task: what clients train (the plan), who may take part (eligibility),
// how a round runs (selection, deadline, minimum reports) and how the server combines the
// reports (the algorithm and its server optimizer). Plain data, so a hub can store it as JSON
// and an agent can receive it with an assignment.
#pragma once

#include <cstdint>
#include <string>

#include "tern/status.h"

namespace tern::fl {

/// FedAvg (McMahan et al. 2017), FedProx (Li et al. 2020: a proximal term on the client),
/// FedAdam / FedYogi (Reddi et al. 2021: adaptive server optimizers on the averaged update),
/// SCAFFOLD (Karimireddy et al. 2020: control variates correct client drift).
enum class Algorithm { kFedAvg, kFedProx, kFedAdam, kFedYogi, kScaffold };

const char* AlgorithmName(Algorithm a);
/// "fedavg", "fedprox", "fedadam", "fedyogi" or "scaffold".
Result<Algorithm> ParseAlgorithm(const std::string& name);

/// What a selected client does with its local data.
struct ClientPlan {
  int epochs = 1;
  int64_t batch = 32;
  float learning_rate = 0.05f;
  float momentum = 0.0f;  ///< SGD momentum (SCAFFOLD's control-variate update assumes 0)
  float prox_mu = 0.0f;   ///< FedProx: loss + mu/2 |w - w_global|^2
  /// L2 norm the client clips its model delta to (0: no clipping). Central DP needs it.
  float clip_norm = 0.0f;
  /// At most this many optimizer steps per round (0: no limit), so that clients with much data
  /// do not dominate the round time.
  int64_t max_steps = 0;
};

/// The state a device reports when it checks in (Bonawitz et al. 2019: train only when idle,
/// charging and on an unmetered network, so that users never notice).
struct DeviceState {
  bool idle = true;
  bool charging = true;
  bool unmetered = true;
  int64_t examples = 0;  ///< local examples available for this task
};

struct EligibilityRules {
  bool require_idle = true;
  bool require_charging = true;
  bool require_unmetered = true;
  int64_t min_examples = 1;
};

/// Why a device may not take part now, or an empty string when it may.
std::string IneligibleReason(const EligibilityRules& rules, const DeviceState& state);

struct RoundConfig {
  int goal_count = 20;              ///< reports wanted; the round closes early once it has them
  double over_selection = 1.3;      ///< selects ceil(goal * over_selection) to absorb drop-outs
  int min_reports = 10;             ///< below this at the deadline the round fails and is retried
  double selection_timeout_s = 60;  ///< selection ends then even if not full
  double deadline_s = 600;          ///< from the end of selection to the last accepted report
  int max_attempts = 3;             ///< failed reporting phases of one round before the task stops
  /// A client that reported is not selected again for this many seconds (pace steering).
  double min_rejoin_s = 0;
};

struct ServerOptimizerConfig {
  double learning_rate = 1.0;  ///< FedAvg/FedProx/SCAFFOLD: global step on the mean update
  double beta1 = 0.9;          ///< FedAdam / FedYogi
  double beta2 = 0.99;
  double tau = 1e-3;  ///< adaptivity: v starts at tau^2 and tau is added to sqrt(v)
  /// FedAvg/FedProx server momentum (FedAvgM, Hsu et al. 2019): m = momentum m + d, x += eta m.
  /// Under central DP it averages the noise of consecutive rounds. 0: plain FedAvg.
  double momentum = 0;
};

struct FlTask {
  std::string name = "task";
  Algorithm algorithm = Algorithm::kFedAvg;
  ClientPlan plan;
  EligibilityRules eligibility;
  RoundConfig round;
  ServerOptimizerConfig server;
  /// Devices expected to take part in the task; SCAFFOLD scales the server control variate by
  /// |S|/N with it, and pace steering spreads check-ins over it.
  int64_t population = 100;
  int max_rounds = 0;  ///< 0: no limit
};

/// Checks ranges (positive counts, min_reports <= goal, ...).
Status ValidateTask(const FlTask& task);

}  // namespace tern::fl
