// Central differential privacy for federated averaging (DP-FedAvg, McMahan et al. 2018), as a
// decorator of any UpdateSum (plain, SecAgg or SecAgg+):
//   - every client's delta is clipped to L2 norm C (on the client: with secure aggregation the
//     server never sees a single update, so the clip must happen before masking);
//   - every client has weight 1 and the sum is divided by the *expected* number of reports, not
//     the realized one: the realized count depends on who took part and would leak it;
//   - the server adds N(0, (z·C)²) to each coordinate of the (unmasked) sum, so the sum's
//     sensitivity to one client is C and its noise multiplier z;
//   - C is fixed, or adaptive (Andrew et al. 2021): each client also contributes b - 1/2, with
//     b = [its unclipped norm <= C], summed by the same inner sum (so SecAgg hides it too); the
//     server adds N(0, σ_b²) to that count and moves C geometrically towards the target
//     quantile; the updates then use z_Δ = (z⁻² - (2σ_b)⁻²)^(-1/2) so update and count together
//     have the privacy of noise multiplier z;
//   - an RDP accountant for the sampled Gaussian mechanism (q = expected reports / population)
//     charges every revealed sum and reports (ε, δ); the task ends when another round would not
//     fit the budget. Given no z, z is sized so that the planned rounds exactly fit the budget.
// Aborted rounds reveal nothing and cost nothing. Running statistics and SCAFFOLD's control
// variates are refused: they would bypass the clipping.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fl/privacy/dp.h"
#include "fl/privacy/rdp_accountant.h"
#include "fl/update_sum.h"

namespace tern::fl {

struct DpSumOptions {
  double epsilon = 0;  ///< total budget of the run
  double delta = 1e-5;
  double clip_norm = 0;        ///< C, or the initial C when adaptive
  double target_quantile = 0;  ///< > 0: adaptive clipping to this quantile of the norms
  double clip_learning_rate = 0.2;
  double count_noise_stddev = 0;  ///< σ_b of the adaptive count; 0: expected_reports / 20
  int64_t population = 0;         ///< clients that may be sampled
  int64_t expected_reports = 0;   ///< reports a round expects (q = this / population)
  int64_t rounds = 0;             ///< planned rounds: z is sized for them when noise_multiplier = 0
  double noise_multiplier = 0;    ///< > 0: use this z
  uint64_t seed = 0;              ///< 0: noise keyed from the OS CSPRNG
};

class DpSum final : public UpdateSum {
 public:
  static Result<std::unique_ptr<DpSum>> Create(const DpSumOptions& options,
                                               std::unique_ptr<UpdateSum> inner);

  Status Begin(int64_t round, const std::vector<std::string>& cohort,
               const SumShape& shape) override;
  Status Add(const std::string& client, const ClientUpdate& update, double weight) override;
  Result<UpdateTotals> Finish(const std::vector<std::string>& counted) override;
  void Abort() override;
  double epsilon() const override { return budget_.epsilon_spent(); }
  bool budget_spent() const override;
  double clip_norm() const override { return clip_; }
  std::string name() const override { return "dp(" + inner_->name() + ")"; }

  /// z of the whole mechanism (what the accountant charges).
  double noise_multiplier() const { return z_; }
  /// z_Δ of the updates' noise (= z with fixed clipping).
  double update_noise_multiplier() const { return z_update_; }
  double sampling_rate() const { return q_; }
  const PrivacyBudget& budget() const { return budget_; }

 private:
  DpSum(const DpSumOptions& o, std::unique_ptr<UpdateSum> inner, PrivacyBudget budget,
        NoiseSource noise)
      : options_(o), inner_(std::move(inner)), budget_(std::move(budget)), noise_(noise) {}
  bool adaptive() const { return clipper_.has_value(); }

  DpSumOptions options_;
  std::unique_ptr<UpdateSum> inner_;
  PrivacyBudget budget_;
  NoiseSource noise_;
  std::optional<AdaptiveClipper> clipper_;
  double q_ = 0, z_ = 0, z_update_ = 0, count_stddev_ = 0;
  double clip_ = 0;  ///< C of the round in progress (or the next one)
  SumShape shape_;
};

}  // namespace tern::fl
