#include "fl/dp_sum.h"

#include <cmath>

namespace tern::fl {

Result<std::unique_ptr<DpSum>> DpSum::Create(const DpSumOptions& o,
                                             std::unique_ptr<UpdateSum> inner) {
  if (!inner) return InvalidArgument("DP: no inner update sum");
  if (!(o.clip_norm > 0) || !std::isfinite(o.clip_norm)) {
    return InvalidArgument("DP: the clip norm must be > 0 (--clip)");
  }
  if (o.population <= 0 || o.expected_reports <= 0 || o.expected_reports > o.population) {
    return InvalidArgument("DP: needs 0 < expected reports <= population");
  }
  TERN_ASSIGN_OR_RETURN(PrivacyBudget budget, PrivacyBudget::Create(o.epsilon, o.delta));
  NoiseSource noise = NoiseSource::Seeded(o.seed);
  if (o.seed == 0) {
    TERN_ASSIGN_OR_RETURN(noise, NoiseSource::Secure());
  }
  std::unique_ptr<DpSum> s(new DpSum(o, std::move(inner), std::move(budget), noise));
  s->q_ = static_cast<double>(o.expected_reports) / static_cast<double>(o.population);
  s->clip_ = o.clip_norm;
  if (o.noise_multiplier > 0) {
    s->z_ = o.noise_multiplier;
  } else {
    if (o.rounds <= 0) return InvalidArgument("DP: needs planned rounds or a noise multiplier");
    TERN_ASSIGN_OR_RETURN(s->z_, NoiseMultiplierForBudget(s->q_, static_cast<uint64_t>(o.rounds),
                                                          o.epsilon, o.delta));
  }
  s->z_update_ = s->z_;
  if (o.target_quantile > 0) {
    // Andrew et al. suggest σ_b = m/20 for m expected clients: the count is then accurate to a
    // few percent and costs the updates little noise.
    s->count_stddev_ = o.count_noise_stddev > 0 ? o.count_noise_stddev
                                                : static_cast<double>(o.expected_reports) / 20.0;
    AdaptiveClipper::Options ao;
    ao.initial_clip = o.clip_norm;
    ao.target_quantile = o.target_quantile;
    ao.learning_rate = o.clip_learning_rate;
    ao.count_noise_stddev = 0;  // the noise goes on the centred count here, see Finish
    TERN_ASSIGN_OR_RETURN(AdaptiveClipper clipper, AdaptiveClipper::Create(ao));
    s->clipper_ = clipper;
    TERN_ASSIGN_OR_RETURN(s->z_update_,
                          AdaptiveClipper::UpdateNoiseMultiplier(s->z_, s->count_stddev_));
  }
  return s;
}

bool DpSum::budget_spent() const { return !budget_.CanSpend(q_, z_); }

Status DpSum::Begin(int64_t round, const std::vector<std::string>& cohort, const SumShape& shape) {
  if (shape.states > 0 || shape.control > 0) {
    return InvalidArgument(
        "DP: running statistics (BatchNorm) and SCAFFOLD control variates are not clipped and "
        "would leak; use a model without them and FedAvg/FedProx/FedAdam/FedYogi");
  }
  if (budget_spent()) return Status(StatusCode::kResourceExhausted, "DP: privacy budget spent");
  shape_ = shape;
  SumShape inner = shape;
  if (adaptive()) ++inner.delta;  // the clip indicator rides along as one more coordinate
  return inner_->Begin(round, cohort, inner);
}

Status DpSum::Add(const std::string& client, const ClientUpdate& update, double /*weight*/) {
  TERN_RETURN_IF_ERROR(CheckUpdateShape(update, shape_));
  // What the client does before masking: clip to C, note whether it had to, weight 1.
  ClientUpdate clipped = update;
  const double norm = ClipL2(clipped.delta, clip_);
  if (adaptive()) {
    const bool within = std::max(norm, update.unclipped_norm) <= clip_;
    // Centred (b - 1/2): the count's sensitivity to one client is then 1/2 (Andrew et al.).
    clipped.delta.push_back(within ? 0.5f : -0.5f);
  }
  return inner_->Add(client, clipped, 1.0);
}

Result<UpdateTotals> DpSum::Finish(const std::vector<std::string>& counted) {
  TERN_ASSIGN_OR_RETURN(UpdateTotals t, inner_->Finish(counted));
  // The sum is about to be revealed: charge it first (an over-budget round reveals nothing).
  TERN_RETURN_IF_ERROR(budget_.Spend(q_, z_).status());
  const double expected = static_cast<double>(options_.expected_reports);
  if (adaptive()) {
    const double centred = t.weighted_delta.back() + count_stddev_ * noise_.Gaussian();
    t.weighted_delta.pop_back();
    // Σb ≈ Σ(b - 1/2) + m/2 over the expected m reports.
    TERN_RETURN_IF_ERROR(
        clipper_->Update(centred + expected / 2, static_cast<uint32_t>(expected), nullptr));
  }
  noise_.AddGaussian(std::span<double>(t.weighted_delta), GaussianStddev(z_update_, clip_));
  t.weight = expected;
  if (adaptive()) clip_ = clipper_->clip_norm();
  return t;
}

void DpSum::Abort() { inner_->Abort(); }

}  // namespace tern::fl
