#include "fl/privacy/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

namespace tern::fl {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(e^a + e^b) without overflow.
double LogAdd(double a, double b) {
  if (a == -kInf) return b;
  if (b == -kInf) return a;
  double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log1p(std::exp(lo - hi));
}

// log(e^a - e^b) for a >= b.
double LogSub(double a, double b) {
  if (b == -kInf) return a;
  if (b >= a) return -kInf;
  return a + std::log1p(-std::exp(b - a));
}

// log(erfc(x)), also where erfc underflows: for large x the asymptotic series
// erfc(x) = e^{-x²} / (x √π) · (1 - 1/(2x²) + 3/(4x⁴) - 15/(8x⁶) + ...).
double LogErfc(double x) {
  if (x < 25) return std::log(std::erfc(x));
  double x2 = x * x;
  return -x2 - std::log(x) - 0.5 * std::log(std::numbers::pi) +
         std::log1p(-1 / (2 * x2) + 3 / (4 * x2 * x2) - 15 / (8 * x2 * x2 * x2));
}

// log A_α for integer α: the binomial expansion of E_{z~μ0}[((1-q) + q e^{(2z-1)/(2σ²)})^α],
// in which E[e^{k(2z-1)/(2σ²)}] = e^{(k²-k)/(2σ²)}.
double LogAInteger(double q, double sigma, double alpha) {
  const int n = static_cast<int>(alpha);
  double log_a = -kInf;
  const double log_q = std::log(q), log_1mq = std::log1p(-q);
  for (int k = 0; k <= n; ++k) {
    double log_binomial =
        std::lgamma(alpha + 1) - std::lgamma(k + 1.0) - std::lgamma(alpha - k + 1);
    double term = log_binomial + k * log_q + (n - k) * log_1mq +
                  (static_cast<double>(k) * k - k) / (2 * sigma * sigma);
    log_a = LogAdd(log_a, term);
  }
  return log_a;
}

// log A_α for fractional α (Mironov, Talwar, Zhang 2019, Section 3.3): split the integral at z0,
// where q e^{(2z-1)/(2σ²)} = 1-q, and expand the binomial on each side in the term that is
// smaller there; each half-line Gaussian integral is an erfc. The binomial coefficients of a
// fractional α change sign after i > α, so positive and negative terms are summed apart.
double LogAFractional(double q, double sigma, double alpha) {
  const double z0 = sigma * sigma * std::log(1 / q - 1) + 0.5;
  const double log_q = std::log(q), log_1mq = std::log1p(-q);
  const double two_var = 2 * sigma * sigma;
  const double root2_sigma = std::sqrt(2.0) * sigma;
  double positive = -kInf, negative = -kInf;
  double log_abs_coef = 0;  // log |C(α, i)|
  bool coef_positive = true;
  for (int i = 0; i < 10'000'000; ++i) {
    const double j = alpha - i;
    double s0 = log_abs_coef + i * log_q + j * log_1mq +
                (static_cast<double>(i) * i - i) / two_var + std::log(0.5) +
                LogErfc((i - z0) / root2_sigma);
    double s1 = log_abs_coef + j * log_q + i * log_1mq + (j * j - j) / two_var + std::log(0.5) +
                LogErfc((z0 - j) / root2_sigma);
    double both = LogAdd(s0, s1);
    if (coef_positive) {
      positive = LogAdd(positive, both);
    } else {
      negative = LogAdd(negative, both);
    }
    // Past α the terms only shrink (polynomially); stop when they no longer move a double.
    if (i > alpha + 1 && both < std::max(positive, 0.0) - 40) break;
    log_abs_coef += std::log(std::abs(alpha - i)) - std::log(i + 1.0);
    if (alpha - i < 0) coef_positive = !coef_positive;
  }
  return LogSub(positive, negative);
}

}  // namespace

double SampledGaussianRdp(double q, double noise_multiplier, double order) {
  if (!(q >= 0 && q <= 1) || !(noise_multiplier > 0) || !(order > 1)) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (q == 0) return 0;
  if (q == 1) return order / (2 * noise_multiplier * noise_multiplier);
  if (std::isinf(order)) return kInf;
  double log_a = order == std::floor(order) && order < 1e6
                     ? LogAInteger(q, noise_multiplier, order)
                     : LogAFractional(q, noise_multiplier, order);
  double rdp = log_a / (order - 1);
  return std::isnan(rdp) ? kInf : std::max(rdp, 0.0);
}

Result<DpGuarantee> RdpToDp(std::span<const double> orders, std::span<const double> rdp,
                            double delta) {
  if (orders.size() != rdp.size() || orders.empty()) {
    return InvalidArgument("RdpToDp: need one RDP value per order");
  }
  if (!(delta > 0 && delta < 1)) return InvalidArgument("RdpToDp: delta must be in (0, 1)");
  DpGuarantee best{kInf, delta, orders[0]};
  const double log_delta = std::log(delta);
  for (size_t i = 0; i < orders.size(); ++i) {
    const double a = orders[i];
    if (!(a > 1) || std::isnan(rdp[i]) || std::isinf(a)) continue;
    // Balle et al. 2020, Theorem 21, and the classic bound of Mironov 2017, Proposition 3;
    // both hold, so the smaller one is taken.
    double balle = rdp[i] + std::log1p(-1 / a) - (log_delta + std::log(a)) / (a - 1);
    double classic = rdp[i] - log_delta / (a - 1);
    double eps = std::max(0.0, std::min(balle, classic));
    if (eps < best.epsilon) best = {eps, delta, a};
  }
  return best;
}

std::vector<double> DefaultRdpOrders() {
  std::vector<double> orders;
  for (int x = 1; x < 100; ++x) orders.push_back(1 + x / 10.0);
  for (int a = 11; a <= 64; ++a) orders.push_back(a);
  for (double a : {128.0, 256.0, 512.0}) orders.push_back(a);
  return orders;
}

// ---- RdpAccountant ----

RdpAccountant::RdpAccountant(std::vector<double> orders) {
  // Orders at or below 1 carry no RDP bound; they are dropped rather than failing a constructor.
  for (double a : orders) {
    if (a > 1) orders_.push_back(a);
  }
  rdp_.assign(orders_.size(), 0);
}

Result<std::vector<double>> RdpAccountant::StepRdp(double sampling_rate,
                                                   double noise_multiplier) const {
  if (!(sampling_rate >= 0 && sampling_rate <= 1)) {
    return InvalidArgument("RDP accountant: sampling rate " + std::to_string(sampling_rate) +
                           " outside [0, 1]");
  }
  if (!(noise_multiplier > 0)) {
    return InvalidArgument("RDP accountant: noise multiplier must be > 0");
  }
  std::vector<double> step(orders_.size());
  for (size_t i = 0; i < orders_.size(); ++i) {
    step[i] = SampledGaussianRdp(sampling_rate, noise_multiplier, orders_[i]);
  }
  return step;
}

Status RdpAccountant::AddStepRdp(const std::vector<double>& step_rdp, uint64_t steps) {
  if (step_rdp.size() != orders_.size()) {
    return InvalidArgument("RDP accountant: " + std::to_string(step_rdp.size()) +
                           " RDP values for " + std::to_string(orders_.size()) + " orders");
  }
  for (size_t i = 0; i < orders_.size(); ++i) rdp_[i] += static_cast<double>(steps) * step_rdp[i];
  steps_ += steps;
  return Status::Ok();
}

Status RdpAccountant::AddSampledGaussian(double sampling_rate, double noise_multiplier,
                                         uint64_t steps) {
  TERN_ASSIGN_OR_RETURN(std::vector<double> step, StepRdp(sampling_rate, noise_multiplier));
  return AddStepRdp(step, steps);
}

Result<DpGuarantee> RdpAccountant::GetEpsilon(double delta) const {
  if (orders_.empty()) return InvalidArgument("RDP accountant: no orders above 1");
  return RdpToDp(orders_, rdp_, delta);
}

Result<double> NoiseMultiplierForBudget(double sampling_rate, uint64_t rounds, double epsilon,
                                        double delta, const std::vector<double>& orders) {
  if (!(sampling_rate > 0 && sampling_rate <= 1)) {
    return InvalidArgument("noise calibration: sampling rate must be in (0, 1]");
  }
  if (rounds == 0 || !(epsilon > 0) || !(delta > 0 && delta < 1)) {
    return InvalidArgument("noise calibration: needs rounds > 0, epsilon > 0, delta in (0, 1)");
  }
  // The run is later charged round by round; aiming a hair below the budget keeps the last
  // round from failing on the rounding of R single additions against one multiplication.
  const double target = epsilon * (1 - 1e-9);
  auto epsilon_at = [&](double z) -> Result<double> {
    RdpAccountant acc(orders);
    TERN_RETURN_IF_ERROR(acc.AddSampledGaussian(sampling_rate, z, rounds));
    TERN_ASSIGN_OR_RETURN(DpGuarantee g, acc.GetEpsilon(delta));
    return g.epsilon;
  };
  double lo = 0.05, hi = 0.1;
  for (;;) {
    TERN_ASSIGN_OR_RETURN(double e, epsilon_at(hi));
    if (e <= target) break;
    lo = hi;
    hi *= 2;
    if (hi > 1e4) {
      return InvalidArgument("noise calibration: " + std::to_string(rounds) +
                             " rounds do not fit epsilon " + std::to_string(epsilon));
    }
  }
  // Invariant: hi fits the budget; lo does not (or is the lower end of the search).
  while (hi - lo > 1e-4 * hi) {
    const double mid = std::sqrt(lo * hi);
    TERN_ASSIGN_OR_RETURN(double e, epsilon_at(mid));
    if (e <= target) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return hi;
}

// ---- PrivacyBudget ----

Result<PrivacyBudget> PrivacyBudget::Create(double epsilon, double delta,
                                            std::vector<double> orders) {
  if (!(epsilon > 0) || !std::isfinite(epsilon)) {
    return InvalidArgument("privacy budget: epsilon must be > 0");
  }
  if (!(delta > 0 && delta < 1)) return InvalidArgument("privacy budget: delta must be in (0, 1)");
  PrivacyBudget budget(epsilon, delta, RdpAccountant(std::move(orders)));
  budget.spent_.delta = delta;
  return budget;
}

Result<const std::vector<double>*> PrivacyBudget::CachedStepRdp(double sampling_rate,
                                                                double noise_multiplier) const {
  if (sampling_rate != cached_rate_ || noise_multiplier != cached_noise_) {
    TERN_ASSIGN_OR_RETURN(cached_step_rdp_, accountant_.StepRdp(sampling_rate, noise_multiplier));
    cached_rate_ = sampling_rate;
    cached_noise_ = noise_multiplier;
  }
  return &cached_step_rdp_;
}

Result<double> PrivacyBudget::EpsilonAfter(double sampling_rate, double noise_multiplier,
                                           uint64_t steps) const {
  TERN_ASSIGN_OR_RETURN(const std::vector<double>* step,
                        CachedStepRdp(sampling_rate, noise_multiplier));
  RdpAccountant next = accountant_;
  TERN_RETURN_IF_ERROR(next.AddStepRdp(*step, steps));
  TERN_ASSIGN_OR_RETURN(DpGuarantee g, next.GetEpsilon(delta_));
  return g.epsilon;
}

bool PrivacyBudget::CanSpend(double sampling_rate, double noise_multiplier) const {
  auto eps = EpsilonAfter(sampling_rate, noise_multiplier);
  return eps.ok() && *eps <= epsilon_;
}

Result<double> PrivacyBudget::Spend(double sampling_rate, double noise_multiplier) {
  TERN_ASSIGN_OR_RETURN(double after, EpsilonAfter(sampling_rate, noise_multiplier));
  if (after > epsilon_) {
    return Status(StatusCode::kResourceExhausted,
                  "privacy budget spent: one more round (q=" + std::to_string(sampling_rate) +
                      ", noise multiplier " + std::to_string(noise_multiplier) +
                      ") would bring epsilon from " + std::to_string(spent_.epsilon) + " to " +
                      std::to_string(after) + ", above the budget " + std::to_string(epsilon_) +
                      " at delta " + std::to_string(delta_));
  }
  TERN_ASSIGN_OR_RETURN(const std::vector<double>* step,
                        CachedStepRdp(sampling_rate, noise_multiplier));
  TERN_RETURN_IF_ERROR(accountant_.AddStepRdp(*step));
  TERN_ASSIGN_OR_RETURN(spent_, accountant_.GetEpsilon(delta_));
  return spent_.epsilon;
}

}  // namespace tern::fl
