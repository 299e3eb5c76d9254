// The RDP accountant against closed forms, an independent numerical integration of the Rényi
// divergence of the sampled Gaussian mixture, and values published with other accountants.
#include "fl/privacy/rdp_accountant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <tuple>
#include <vector>

namespace tern::fl {
namespace {

// A_α = ∫ N(z; 0, σ²) ((1-q) + q e^{(2z-1)/(2σ²)})^α dz by composite Simpson in log space.
// The tilted part of the integrand sits near z = α, so the grid reaches past it.
double RdpByIntegration(double q, double sigma, double alpha) {
  const double lo = -14 * sigma - 1, hi = alpha + 14 * sigma + 1;
  const int n = 400000;  // even
  const double h = (hi - lo) / n;
  std::vector<double> log_f(n + 1);
  double max_log = -INFINITY;
  for (int i = 0; i <= n; ++i) {
    double z = lo + i * h;
    double log_phi =
        -z * z / (2 * sigma * sigma) - std::log(sigma * std::sqrt(2 * std::numbers::pi));
    double x = (2 * z - 1) / (2 * sigma * sigma);
    // log((1-q) + q e^x), stable for large x.
    double log_mix =
        x > 0 ? x + std::log(q + (1 - q) * std::exp(-x)) : std::log((1 - q) + q * std::exp(x));
    log_f[i] = log_phi + alpha * log_mix;
    max_log = std::max(max_log, log_f[i]);
  }
  double sum = 0;
  for (int i = 0; i <= n; ++i) {
    double w = (i == 0 || i == n) ? 1 : (i % 2 ? 4 : 2);
    sum += w * std::exp(log_f[i] - max_log);
  }
  double log_a = max_log + std::log(sum * h / 3);
  return log_a / (alpha - 1);
}

TEST(RdpAccountant, FullBatchIsThePlainGaussian) {
  for (double sigma : {0.7, 1.0, 3.3}) {
    for (double alpha : {1.5, 2.0, 7.25, 64.0}) {
      EXPECT_DOUBLE_EQ(SampledGaussianRdp(1.0, sigma, alpha), alpha / (2 * sigma * sigma));
    }
  }
  EXPECT_EQ(SampledGaussianRdp(0.0, 1.0, 3.0), 0.0);
}

TEST(RdpAccountant, MatchesNumericalIntegration) {
  struct Point {
    double q, sigma, alpha;
  };
  const Point points[] = {{0.01, 1.0, 2.5}, {0.1, 2.0, 7.3},   {0.05, 0.8, 1.5}, {0.2, 5.0, 20.5},
                          {0.01, 4.0, 32},  {1e-3, 1.0, 3},    {0.5, 1.5, 1.1},  {0.02, 1.1, 12},
                          {0.3, 0.9, 4.7},  {0.001, 0.6, 2.2}, {0.01, 2.5, 1.5}};
  for (const Point& p : points) {
    double fast = SampledGaussianRdp(p.q, p.sigma, p.alpha);
    double slow = RdpByIntegration(p.q, p.sigma, p.alpha);
    EXPECT_NEAR(fast, slow, 1e-6 * slow + 1e-12)
        << "q=" << p.q << " sigma=" << p.sigma << " alpha=" << p.alpha;
  }
}

TEST(RdpAccountant, MatchesPublishedRdpValues) {
  // Google dp_accounting's test of the Poisson-subsampled Gaussian: q = 0.01, σ = 2.5, 50 steps.
  RdpAccountant accountant({1.5, 2.5, 5, 50, 100});
  ASSERT_TRUE(accountant.AddSampledGaussian(0.01, 2.5, 50).ok());
  const double expected[] = {6.70579741e-04, 1.08548710e-03, 2.18075656e-03, 2.38460375e-02,
                             1.67416308e02};
  for (size_t i = 1; i < 5; ++i) {
    EXPECT_NEAR(accountant.rdp()[i], expected[i], 1e-4 * expected[i]) << accountant.orders()[i];
  }
  // At α = 1.5 that library sums the absolute values of the fractional series (the binomial
  // coefficients change sign past α), a looser upper bound; the exact value (checked against
  // integration above, (0.01, 2.5, 1.5)) lies a few percent below it.
  EXPECT_LT(accountant.rdp()[0], expected[0]);
  EXPECT_GT(accountant.rdp()[0], 0.95 * expected[0]);
}

TEST(RdpAccountant, ConversionToEpsilonDelta) {
  // Constant RDP 1.1 over orders 2..32 (pure DP); δ = 1e-5 gives ε = 1.32783806176 at order 32
  // with the conversion of Balle et al. 2020 (value published with dp_accounting).
  std::vector<double> orders, rdp;
  for (int a = 2; a <= 32; ++a) {
    orders.push_back(a);
    rdp.push_back(1.1);
  }
  auto g = RdpToDp(orders, rdp, 1e-5);
  ASSERT_TRUE(g.ok());
  EXPECT_NEAR(g->epsilon, 1.32783806176, 1e-9);
  EXPECT_EQ(g->order, 32);
  // The Gaussian mechanism with σ = 4.530877117 is exactly (1, 1e-6)-DP; RDP over a dense grid
  // of orders reaches it.
  RdpAccountant dense([] {
    std::vector<double> o;
    for (int i = 1001; i < 100000; ++i) o.push_back(0.001 * i);
    return o;
  }());
  ASSERT_TRUE(dense.AddSampledGaussian(1.0, 4.530877117).ok());
  EXPECT_NEAR(dense.GetEpsilon(1e-6)->epsilon, 1.0, 1e-4);
  EXPECT_FALSE(RdpToDp(orders, rdp, 0).ok());
  EXPECT_FALSE(RdpToDp(orders, std::vector<double>{1.0}, 1e-5).ok());
}

TEST(RdpAccountant, PublishedDpSgdFigures) {
  // Abadi et al. 2016: q = 0.01, σ = 4, 10000 steps, δ = 1e-5 gives ε ≈ 1.26 with the moments
  // accountant (integer orders, classic conversion); RDP with fractional orders and the
  // tighter conversion may only be lower, and not by much.
  RdpAccountant abadi;
  ASSERT_TRUE(abadi.AddSampledGaussian(0.01, 4.0, 10000).ok());
  double eps = abadi.GetEpsilon(1e-5)->epsilon;
  EXPECT_LE(eps, 1.26 + 0.01) << eps;
  EXPECT_GE(eps, 1.0);
  // Opacus' documented example: q = 0.01, σ = 1.0, 300 steps, orders {2, 5, 10, 20, 100},
  // δ = 1e-5: ε = 2.39 at order 5.
  RdpAccountant opacus({2, 5, 10, 20, 100});
  ASSERT_TRUE(opacus.AddSampledGaussian(0.01, 1.0, 300).ok());
  auto g = opacus.GetEpsilon(1e-5);
  ASSERT_TRUE(g.ok());
  EXPECT_NEAR(g->epsilon, 2.39, 0.005);
  EXPECT_EQ(g->order, 5);
}

TEST(RdpAccountant, EpsilonGrowsWithRoundsAndShrinksWithNoise) {
  RdpAccountant accountant;
  double previous = 0;
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(accountant.AddSampledGaussian(0.05, 1.2).ok());
    double eps = accountant.GetEpsilon(1e-6)->epsilon;
    EXPECT_GT(eps, previous) << round;
    previous = eps;
  }
  EXPECT_EQ(accountant.steps(), 20u);
  double prev_sigma_eps = INFINITY;
  for (double sigma : {0.6, 0.8, 1.0, 2.0, 5.0}) {
    RdpAccountant a;
    ASSERT_TRUE(a.AddSampledGaussian(0.05, sigma, 100).ok());
    double eps = a.GetEpsilon(1e-6)->epsilon;
    EXPECT_LT(eps, prev_sigma_eps) << sigma;
    prev_sigma_eps = eps;
  }
  EXPECT_FALSE(accountant.AddSampledGaussian(1.5, 1.0).ok());
  EXPECT_FALSE(accountant.AddSampledGaussian(0.1, 0.0).ok());
}

TEST(PrivacyBudget, SaysWhenTheBudgetIsSpent) {
  auto budget = PrivacyBudget::Create(3.0, 1e-5);
  ASSERT_TRUE(budget.ok());
  int rounds = 0;
  double last = 0;
  while (budget->CanSpend(0.1, 1.5)) {
    auto eps = budget->Spend(0.1, 1.5);
    ASSERT_TRUE(eps.ok()) << eps.status().ToString();
    EXPECT_GT(*eps, last);
    EXPECT_LE(*eps, 3.0);
    last = *eps;
    ++rounds;
    ASSERT_LT(rounds, 10000);
  }
  EXPECT_GT(rounds, 5);
  EXPECT_TRUE(budget->Exhausted(0.1, 1.5));
  auto refused = budget->Spend(0.1, 1.5);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("privacy budget spent"), std::string::npos);
  EXPECT_DOUBLE_EQ(budget->epsilon_spent(), last);  // nothing recorded by the refused round
  // A cheaper round (more noise) may still fit.
  EXPECT_TRUE(budget->CanSpend(0.1, 50.0));
  EXPECT_FALSE(PrivacyBudget::Create(0, 1e-5).ok());
  EXPECT_FALSE(PrivacyBudget::Create(1, 1).ok());
}

// The calibrated z is the smallest that fits: R rounds with it stay within ε, and 0.1 % less
// noise does not.
TEST(RdpAccountant, NoiseMultiplierForBudgetIsTheSmallestThatFits) {
  for (auto [q, rounds, eps] :
       {std::tuple{0.1, 100, 8.0}, std::tuple{0.01, 1000, 2.0}, std::tuple{0.5, 10, 1.0}}) {
    auto z = NoiseMultiplierForBudget(q, rounds, eps, 1e-5);
    ASSERT_TRUE(z.ok()) << z.status().ToString();
    RdpAccountant at, below;
    ASSERT_TRUE(at.AddSampledGaussian(q, *z, rounds).ok());
    ASSERT_TRUE(below.AddSampledGaussian(q, *z * 0.999, rounds).ok());
    EXPECT_LE(at.GetEpsilon(1e-5)->epsilon, eps) << q;
    EXPECT_GT(below.GetEpsilon(1e-5)->epsilon, eps) << q;
    // Spent round by round, the budget takes exactly `rounds` rounds.
    auto budget = PrivacyBudget::Create(eps, 1e-5);
    ASSERT_TRUE(budget.ok());
    for (int r = 0; r < rounds; ++r) ASSERT_TRUE(budget->Spend(q, *z).ok()) << r;
    EXPECT_FALSE(budget->CanSpend(q, *z));
  }
  EXPECT_FALSE(NoiseMultiplierForBudget(0, 10, 1, 1e-5).ok());
  EXPECT_FALSE(NoiseMultiplierForBudget(0.1, 0, 1, 1e-5).ok());
}

}  // namespace
}  // namespace tern::fl
