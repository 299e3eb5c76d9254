// How the coordinator learns the sum of the client updates of a round. The algorithms (FedAvg,
// FedAdam, SCAFFOLD, ...) need only sums: sum_k w_k delta_k, sum_k w_k, and for SCAFFOLD
// sum_k dc_k. Forming those sums is behind the UpdateSum interface so that the privacy layer
// (src/fl/privacy) can replace the plain sum:
//   - secure aggregation (SecAgg / SecAgg+) reveals only the sum of the clients that survive to
//     the end of the round, with drop-outs at any phase: Begin gets the cohort, Add a client's
//     contribution (in the simulation the implementation encodes and masks it on the client's
//     behalf), Finish the clients whose contributions count;
//   - central differential privacy clips each contribution's delta to L2 norm C, gives every
//     client the same weight (so one client's influence is bounded), adds Gaussian noise to the
//     sum in Finish, and reports the privacy spent (epsilon at its delta) after each round.
// A DP implementation can wrap any other UpdateSum (plain or secure) as a decorator.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tern/status.h"

namespace tern::fl {

/// What one client sends at the end of its local training.
struct ClientUpdate {
  std::vector<float> delta;          ///< trained minus global trainable parameters (clipped)
  std::vector<float> states;         ///< running statistics after training (absolute values)
  std::vector<float> control_delta;  ///< SCAFFOLD: c_i(new) - c_i(old); empty otherwise
  int64_t examples = 0;              ///< local examples (the FedAvg weight)
  int64_t steps = 0;                 ///< optimizer steps taken
  double train_loss = 0;             ///< mean batch loss of the local training
  /// L2 norm of the delta before the client clipped it (negative: unknown). Adaptive clipping
  /// needs it: after clipping every norm is within the bound.
  double unclipped_norm = -1;
};

/// Sizes of the vectors each contribution carries.
struct SumShape {
  size_t delta = 0;
  size_t states = 0;
  size_t control = 0;  ///< 0 unless SCAFFOLD
};

/// The sums over the clients whose contributions count.
struct UpdateTotals {
  std::vector<double> weighted_delta;   ///< sum_k w_k delta_k
  std::vector<double> weighted_states;  ///< sum_k w_k states_k
  std::vector<double> control_delta;    ///< sum_k dc_k (unweighted)
  double weight = 0;                    ///< sum_k w_k
  int contributions = 0;
};

class UpdateSum {
 public:
  virtual ~UpdateSum() = default;
  /// Starts a round with the selected cohort (client ids).
  virtual Status Begin(int64_t round, const std::vector<std::string>& cohort,
                       const SumShape& shape) = 0;
  /// Adds one client's contribution with weight `weight` (its example count under FedAvg).
  virtual Status Add(const std::string& client, const ClientUpdate& update, double weight) = 0;
  /// Ends the round: `counted` are the clients whose contributions make up the sum (every client
  /// that was added; secure aggregation unmasks exactly these).
  virtual Result<UpdateTotals> Finish(const std::vector<std::string>& counted) = 0;
  /// Forgets the round (it failed); no sum is revealed.
  virtual void Abort() = 0;
  /// Privacy spent so far: epsilon at the implementation's delta; negative when not private.
  virtual double epsilon() const { return -1; }
  /// True when the task must stop because its privacy budget is spent.
  virtual bool budget_spent() const { return false; }
  /// The L2 bound clients must clip their delta to in the next round (0: none). Central DP with
  /// adaptive clipping moves it every round; the coordinator puts it into each assignment.
  virtual double clip_norm() const { return 0; }
  virtual std::string name() const = 0;
};

/// The plain sum: the coordinator sees every contribution (no privacy).
class PlainSum final : public UpdateSum {
 public:
  Status Begin(int64_t round, const std::vector<std::string>& cohort,
               const SumShape& shape) override;
  Status Add(const std::string& client, const ClientUpdate& update, double weight) override;
  Result<UpdateTotals> Finish(const std::vector<std::string>& counted) override;
  void Abort() override;
  std::string name() const override { return "plain"; }

 private:
  SumShape shape_;
  UpdateTotals totals_;
  std::vector<std::string> added_;
  bool open_ = false;
};

/// Checks that `update` carries vectors of `shape`'s sizes (finite values).
Status CheckUpdateShape(const ClientUpdate& update, const SumShape& shape);

struct AggregationOptions {
  enum class Secure { kNone, kSecAgg, kSecAggPlus } secure = Secure::kNone;
  double dp_epsilon = 0;  ///< > 0: central DP with this total budget
  double dp_delta = 1e-5;
  double clip_norm = 0;  ///< DP's per-client L2 bound
  int64_t population = 0;
  int64_t expected_cohort = 0;
  int64_t rounds = 0;  ///< planned rounds (a DP implementation sizes its noise for them)
  /// Reports a round expects (DP-FedAvg divides the noisy sum by it, not by the realized count);
  /// 0: expected_cohort.
  int64_t expected_reports = 0;
  double dp_noise_multiplier = 0;      ///< > 0: use this z instead of sizing it from the budget
  double dp_target_quantile = 0;       ///< > 0: adaptive clipping to this quantile of the norms
  double dp_clip_learning_rate = 0.2;  ///< adaptive clipping's step (geometric)
  uint64_t dp_seed = 0;                ///< noise seed (0: the OS CSPRNG)
};

/// The UpdateSum for `options`: plain or secure aggregation (src/fl/privacy), wrapped in central
/// differential privacy (fl/dp_sum.h) when dp_epsilon > 0.
Result<std::unique_ptr<UpdateSum>> MakeUpdateSum(const AggregationOptions& options);

}  // namespace tern::fl
