#include "fl/update_sum.h"

#include <algorithm>
#include <cmath>

#include "fl/dp_sum.h"

namespace tern::fl {

namespace {

bool AllFinite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

void AddScaled(std::vector<double>& acc, const std::vector<float>& v, double scale) {
  for (size_t i = 0; i < v.size(); ++i) acc[i] += scale * static_cast<double>(v[i]);
}

}  // namespace

Status CheckUpdateShape(const ClientUpdate& u, const SumShape& shape) {
  if (u.delta.size() != shape.delta || u.states.size() != shape.states ||
      u.control_delta.size() != shape.control)
    return InvalidArgument(
        "update has " + std::to_string(u.delta.size()) + "/" + std::to_string(u.states.size()) +
        "/" + std::to_string(u.control_delta.size()) + " delta/state/control values, expected " +
        std::to_string(shape.delta) + "/" + std::to_string(shape.states) + "/" +
        std::to_string(shape.control));
  // A NaN from one diverged client would poison the global model for everyone.
  if (!AllFinite(u.delta) || !AllFinite(u.states) || !AllFinite(u.control_delta))
    return InvalidArgument("update contains NaN or infinite values");
  if (u.examples <= 0) return InvalidArgument("update reports no examples");
  return Status::Ok();
}

Status PlainSum::Begin(int64_t round, const std::vector<std::string>& cohort,
                       const SumShape& shape) {
  shape_ = shape;
  totals_ = UpdateTotals();
  totals_.weighted_delta.assign(shape.delta, 0.0);
  totals_.weighted_states.assign(shape.states, 0.0);
  totals_.control_delta.assign(shape.control, 0.0);
  added_.clear();
  open_ = true;
  return Status::Ok();
}

Status PlainSum::Add(const std::string& client, const ClientUpdate& update, double weight) {
  if (!open_) return Status(StatusCode::kFailedPrecondition, "no round in progress");
  TERN_RETURN_IF_ERROR(CheckUpdateShape(update, shape_));
  if (!(weight > 0) || !std::isfinite(weight)) return InvalidArgument("weight must be positive");
  AddScaled(totals_.weighted_delta, update.delta, weight);
  AddScaled(totals_.weighted_states, update.states, weight);
  AddScaled(totals_.control_delta, update.control_delta, 1.0);
  totals_.weight += weight;
  ++totals_.contributions;
  added_.push_back(client);
  return Status::Ok();
}

Result<UpdateTotals> PlainSum::Finish(const std::vector<std::string>& counted) {
  if (!open_) return Status(StatusCode::kFailedPrecondition, "no round in progress");
  open_ = false;
  std::vector<std::string> a = added_, c = counted;
  std::sort(a.begin(), a.end());
  std::sort(c.begin(), c.end());
  if (a != c) return Internal("the counted clients differ from those that contributed");
  return std::move(totals_);
}

void PlainSum::Abort() {
  open_ = false;
  totals_ = UpdateTotals();
  added_.clear();
}

std::unique_ptr<UpdateSum> MakeSecureSum(bool plus, double weight_cap);  // secure_sum.cc

Result<std::unique_ptr<UpdateSum>> MakeUpdateSum(const AggregationOptions& o) {
  const bool dp = o.dp_epsilon > 0;
  std::unique_ptr<UpdateSum> sum;
  if (o.secure != AggregationOptions::Secure::kNone) {
    // FedAvg weights are example counts (up to 4096 map to 1); DP's are all 1.
    sum = MakeSecureSum(o.secure == AggregationOptions::Secure::kSecAggPlus, dp ? 1.0 : 4096.0);
  } else {
    sum.reset(new PlainSum());
  }
  if (!dp) return sum;
  DpSumOptions d;
  d.epsilon = o.dp_epsilon;
  d.delta = o.dp_delta;
  d.clip_norm = o.clip_norm;
  d.target_quantile = o.dp_target_quantile;
  d.clip_learning_rate = o.dp_clip_learning_rate;
  d.population = o.population;
  d.expected_reports = o.expected_reports > 0 ? o.expected_reports : o.expected_cohort;
  d.rounds = o.rounds;
  d.noise_multiplier = o.dp_noise_multiplier;
  d.seed = o.dp_seed;
  TERN_ASSIGN_OR_RETURN(auto dp_sum, DpSum::Create(d, std::move(sum)));
  return std::unique_ptr<UpdateSum>(std::move(dp_sum));
}

}  // namespace tern::fl
