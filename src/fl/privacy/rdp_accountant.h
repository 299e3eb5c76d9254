// Rényi-DP accounting for the Poisson-subsampled Gaussian mechanism (each client joins a round
// with probability q; the sum of clipped updates gets N(0, (σ·C)²) noise), after Mironov, Talwar
// and Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism" (2019).
//
// For order α the mechanism is (α, ε_α)-RDP with ε_α = log(A_α) / (α - 1), where
// A_α = E_{z~N(0,σ²)}[((1-q) + q·exp((2z-1)/(2σ²)))^α]. Integer α uses the binomial expansion
// (exact, finite); fractional α the two-sided series with erfc of Section 3.3 of the paper,
// summed in log space until terms fall below e^-30 of the total. RDP composes by addition over
// rounds; the conversion to (ε, δ) takes the best order with the bound of Balle et al. 2020
// (ε = ε_α + log((α-1)/α) - (log δ + log α)/(α-1)), which is never worse than the classic
// ε_α + log(1/δ)/(α-1).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "tern/status.h"

namespace tern::fl {

/// ε_α of one step of the sampled Gaussian mechanism with sampling rate q in [0, 1], noise
/// multiplier σ > 0 and order α > 1. q = 0 gives 0; q = 1 the plain Gaussian α/(2σ²).
/// Returns +inf when A_α overflows a double.
double SampledGaussianRdp(double q, double noise_multiplier, double order);

/// (ε, δ) from RDP values at a set of orders: the smallest ε over the orders, and that order.
struct DpGuarantee {
  double epsilon = 0;
  double delta = 0;
  double order = 0;
};
Result<DpGuarantee> RdpToDp(std::span<const double> orders, std::span<const double> rdp,
                            double delta);

/// The orders used by default: 1.1 .. 10.9 in steps of 0.1 (fractional, where the optimum lies
/// for moderate ε), then the integers 11..64 and 128, 256, 512 (for small ε).
std::vector<double> DefaultRdpOrders();

/// The smallest noise multiplier z (to a relative 1e-4) with which `rounds` rounds of the
/// sampled Gaussian mechanism at rate q stay within (epsilon, delta): a bisection on z with the
/// accountant (ε falls monotonically as z grows). A budget that `rounds` rounds cannot fit with
/// any z up to 1e4 is an error.
Result<double> NoiseMultiplierForBudget(double sampling_rate, uint64_t rounds, double epsilon,
                                        double delta,
                                        const std::vector<double>& orders = DefaultRdpOrders());

/// Accumulates RDP over rounds and reports ε for a δ.
class RdpAccountant {
 public:
  explicit RdpAccountant(std::vector<double> orders = DefaultRdpOrders());

  /// Adds `steps` rounds of the sampled Gaussian mechanism.
  Status AddSampledGaussian(double sampling_rate, double noise_multiplier, uint64_t steps = 1);
  /// ε_α of one round at every order of this accountant.
  Result<std::vector<double>> StepRdp(double sampling_rate, double noise_multiplier) const;
  /// Adds `steps` rounds whose per-round RDP StepRdp() computed.
  Status AddStepRdp(const std::vector<double>& step_rdp, uint64_t steps = 1);
  /// ε at `delta` of everything added so far.
  Result<DpGuarantee> GetEpsilon(double delta) const;

  const std::vector<double>& orders() const { return orders_; }
  const std::vector<double>& rdp() const { return rdp_; }
  uint64_t steps() const { return steps_; }

 private:
  std::vector<double> orders_;
  std::vector<double> rdp_;
  uint64_t steps_ = 0;
};

/// A privacy budget (ε, δ) for a training run: says whether one more round fits, and refuses
/// rounds that would exceed it. Not thread-safe (it caches the last round's RDP).
class PrivacyBudget {
 public:
  static Result<PrivacyBudget> Create(double epsilon, double delta,
                                      std::vector<double> orders = DefaultRdpOrders());

  /// ε spent so far (at the budget's δ) and after one more round with these parameters.
  double epsilon_spent() const { return spent_.epsilon; }
  Result<double> EpsilonAfter(double sampling_rate, double noise_multiplier,
                              uint64_t steps = 1) const;
  /// True when one more such round still fits the budget.
  bool CanSpend(double sampling_rate, double noise_multiplier) const;
  /// Records a round; fails (and records nothing) with kResourceExhausted when it would exceed
  /// the budget. Returns ε spent after the round.
  Result<double> Spend(double sampling_rate, double noise_multiplier);
  /// True once no round with these parameters fits any more.
  bool Exhausted(double sampling_rate, double noise_multiplier) const {
    return !CanSpend(sampling_rate, noise_multiplier);
  }
  double epsilon_budget() const { return epsilon_; }
  double delta() const { return delta_; }
  const RdpAccountant& accountant() const { return accountant_; }

 private:
  PrivacyBudget(double epsilon, double delta, RdpAccountant accountant)
      : epsilon_(epsilon), delta_(delta), accountant_(std::move(accountant)) {}
  double epsilon_ = 0;
  double delta_ = 0;
  // The per-round RDP of the last parameters asked about: a run repeats them every round.
  Result<const std::vector<double>*> CachedStepRdp(double sampling_rate,
                                                   double noise_multiplier) const;
  RdpAccountant accountant_;
  DpGuarantee spent_{};
  mutable double cached_rate_ = -1;
  mutable double cached_noise_ = -1;
  mutable std::vector<double> cached_step_rdp_;
};

}  // namespace tern::fl
