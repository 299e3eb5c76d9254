// Central differential privacy (fl/dp_sum.h): the noise on the sum has stddev z·C, updates are
// clipped to C and weighted 1 over the expected count, adaptive clipping follows the norms, the
// same seed gives the same noisy sum over SecAgg+ as over the plain sum, and in a simulation
// the budget ends the task, the reported ε is the accountant's, and the model still learns.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "fl/dp_sum.h"
#include "fl/simulation.h"
#include "train/dataset.h"

namespace tern::fl {
namespace {

std::vector<std::string> Cohort(int n) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    // Built with append: GCC 12 at -O3 warns falsely (-Wrestrict) on "c" + to_string.
    std::string id = "c";
    id.append(std::to_string(i));
    ids.push_back(id);
  }
  return ids;
}

ClientUpdate Update(std::vector<float> delta) {
  ClientUpdate u;
  u.delta = std::move(delta);
  u.examples = 7;  // DP ignores it: every client weighs 1
  return u;
}

AggregationOptions DpOptions(double z, uint64_t seed) {
  AggregationOptions o;
  o.dp_epsilon = 1e4;  // large: these tests are about the mechanism, not the budget
  o.dp_delta = 1e-5;
  o.clip_norm = 0.5;
  o.population = 100;
  o.expected_reports = 10;
  o.dp_noise_multiplier = z;
  o.dp_seed = seed;
  return o;
}

// Runs one round over `updates` (client i gives updates[i]); the first `added` clients report.
Result<UpdateTotals> OneRound(UpdateSum& sum, const std::vector<std::vector<float>>& updates,
                              int cohort_size, int64_t round = 1) {
  const auto cohort = Cohort(cohort_size);
  TERN_RETURN_IF_ERROR(sum.Begin(round, cohort, SumShape{updates[0].size(), 0, 0}));
  std::vector<std::string> counted;
  for (size_t i = 0; i < updates.size(); ++i) {
    TERN_RETURN_IF_ERROR(sum.Add(cohort[i], Update(updates[i]), 7.0));
    counted.push_back(cohort[i]);
  }
  return sum.Finish(counted);
}

TEST(FlDp, NoiseOnTheSumHasStddevZTimesC) {
  const double z = 1.7;
  auto sum = MakeUpdateSum(DpOptions(z, 42));
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  const size_t d = 40000;
  // Zero updates: the sum is the noise alone.
  auto t = OneRound(
      **sum,
      {std::vector<float>(d, 0.0f), std::vector<float>(d, 0.0f), std::vector<float>(d, 0.0f)}, 4);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  double mean = 0, sq = 0;
  for (double x : t->weighted_delta) mean += x;
  mean /= d;
  for (double x : t->weighted_delta) sq += (x - mean) * (x - mean);
  const double stddev = std::sqrt(sq / (d - 1));
  const double want = z * 0.5;
  // The sample stddev of 40,000 normals is within 1.5 % of the truth (about 4 standard errors).
  EXPECT_NEAR(stddev, want, 0.015 * want);
  EXPECT_NEAR(mean, 0.0, 4 * want / std::sqrt(static_cast<double>(d)));
  // Weight 1 per client, divided by the expected count (10), not the realized one (3).
  EXPECT_EQ(t->weight, 10.0);
  EXPECT_EQ(t->contributions, 3);
  // A different seed gives different noise.
  auto other = MakeUpdateSum(DpOptions(z, 43));
  ASSERT_TRUE(other.ok());
  auto t2 = OneRound(
      **other,
      {std::vector<float>(d, 0.0f), std::vector<float>(d, 0.0f), std::vector<float>(d, 0.0f)}, 4);
  ASSERT_TRUE(t2.ok());
  EXPECT_NE(t2->weighted_delta[0], t->weighted_delta[0]);
}

TEST(FlDp, UpdatesAreClippedToCAndWeightedOne) {
  // The same seed gives the same noise, so the difference of two sums is the difference of
  // what was summed: the clipped updates.
  std::vector<float> big = {3.0f, -4.0f, 0.0f, 0.0f};   // norm 5: clipped to 0.5
  std::vector<float> small = {0.1f, 0.0f, 0.2f, 0.0f};  // within 0.5: unchanged
  std::vector<float> zero(4, 0.0f);
  auto a = MakeUpdateSum(DpOptions(1.0, 7));
  auto b = MakeUpdateSum(DpOptions(1.0, 7));
  ASSERT_TRUE(a.ok() && b.ok());
  auto with = OneRound(**a, {big, small, zero}, 3);
  auto without = OneRound(**b, {zero, zero, zero}, 3);
  ASSERT_TRUE(with.ok() && without.ok()) << with.status().ToString();
  const double want[4] = {0.3 + 0.1, -0.4, 0.2, 0.0};
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(with->weighted_delta[i] - without->weighted_delta[i], want[i], 1e-6) << i;
}

TEST(FlDp, RefusesStatesAndControlVariatesAndNeedsAClipNorm) {
  auto sum = MakeUpdateSum(DpOptions(1.0, 1));
  ASSERT_TRUE(sum.ok());
  EXPECT_FALSE((*sum)->Begin(1, Cohort(3), SumShape{4, 2, 0}).ok());
  EXPECT_FALSE((*sum)->Begin(1, Cohort(3), SumShape{4, 0, 4}).ok());
  AggregationOptions o = DpOptions(1.0, 1);
  o.clip_norm = 0;
  EXPECT_FALSE(MakeUpdateSum(o).ok());
}

TEST(FlDp, AdaptiveClipNormMovesTowardsTheTargetQuantile) {
  // Every client's update has norm 1; with target quantile 0.5 the clip norm must climb from
  // 0.05 to about 1 and then stay there (half the bits 1 is only reachable at the norm).
  AggregationOptions o = DpOptions(2.0, 5);
  o.clip_norm = 0.05;
  o.dp_target_quantile = 0.5;
  o.expected_reports = 40;
  o.population = 400;
  auto sum = MakeUpdateSum(o);
  ASSERT_TRUE(sum.ok()) << sum.status().ToString();
  std::mt19937 rng(3);
  std::normal_distribution<float> n01;
  for (int round = 1; round <= 60; ++round) {
    std::vector<std::vector<float>> updates;
    for (int c = 0; c < 40; ++c) {
      std::vector<float> v(8);
      for (float& x : v) x = n01(rng);
      double norm = 0;
      for (float x : v) norm += x * x;
      for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
      updates.push_back(v);
    }
    const double before = (*sum)->clip_norm();
    auto t = OneRound(**sum, updates, 40, round);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_EQ(t->weighted_delta.size(), 8u);  // the indicator coordinate is stripped
    if (round == 1) {
      EXPECT_GT((*sum)->clip_norm(), before);  // all clipped: C grows
    }
  }
  EXPECT_NEAR((*sum)->clip_norm(), 1.0, 0.25);
}

// The noise is added by the server to the unmasked sum: with the same seed SecAgg+ gives the
// same noisy sum as the plain sum, up to the fixed-point resolution, also when clients drop.
TEST(FlDp, SecAggPlusGivesTheSameNoisySumAsPlain) {
  for (double quantile : {0.0, 0.7}) {
    AggregationOptions plain = DpOptions(1.1, 99);
    plain.dp_target_quantile = quantile;
    plain.expected_reports = 40;  // σ_b = 40/20 leaves room for z: 2σ_b > z
    plain.population = 400;
    AggregationOptions secure = plain;
    secure.secure = AggregationOptions::Secure::kSecAggPlus;
    auto a = MakeUpdateSum(plain);
    auto b = MakeUpdateSum(secure);
    ASSERT_TRUE(a.ok() && b.ok()) << b.status().ToString();
    std::mt19937 rng(8);
    std::normal_distribution<float> n01(0.0f, 0.2f);
    for (int64_t round = 1; round <= 3; ++round) {
      // 16 selected (a real neighbour graph), 12 report: 4 drop out after sharing keys.
      std::vector<std::vector<float>> updates(12, std::vector<float>(300));
      for (auto& u : updates)
        for (float& x : u) x = n01(rng);
      auto ta = OneRound(**a, updates, 16, round);
      auto tb = OneRound(**b, updates, 16, round);
      ASSERT_TRUE(ta.ok()) << ta.status().ToString();
      ASSERT_TRUE(tb.ok()) << tb.status().ToString();
      EXPECT_EQ(ta->weight, tb->weight);
      ASSERT_EQ(ta->weighted_delta.size(), tb->weighted_delta.size());
      for (size_t i = 0; i < ta->weighted_delta.size(); ++i)
        ASSERT_NEAR(ta->weighted_delta[i], tb->weighted_delta[i], 1e-3) << i;
      EXPECT_NEAR((*a)->clip_norm(), (*b)->clip_norm(), 1e-6);  // the count is fixed point
      EXPECT_DOUBLE_EQ((*a)->epsilon(), (*b)->epsilon());
    }
  }
}

bool HaveFashionMnist() {
  return std::filesystem::exists(std::string(train::kFashionMnistDir) +
                                 "/train-labels-idx1-ubyte.gz");
}

SimulationOptions ShortDp() {
  SimulationOptions o;
  o.clients = 400;
  o.per_round = 100;
  o.rounds = 12;
  o.alpha = 0.5;
  o.dropout = 0.1;
  o.train_limit = 6000;
  o.test_limit = 1000;
  o.hidden = 0;  // softmax regression: few parameters, little noise per coordinate
  o.plan.epochs = 2;
  o.plan.batch = 10;
  o.plan.learning_rate = 0.1f;
  o.plan.clip_norm = 0.5f;
  o.algorithm = Algorithm::kFedAvg;
  o.server.learning_rate = 1.0;
  o.aggregation.dp_epsilon = 8;
  o.aggregation.dp_delta = 1e-5;
  o.seed = 5;
  return o;
}

// A short DP run: it learns, ε after each round is what an independent accountant says for
// that many rounds of the same mechanism, and the whole run stays within the budget.
TEST(FlDp, ShortSimulationLearnsAndReportsTheAccountantsEpsilon) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  SimulationOptions o = ShortDp();
  o.aggregation.dp_target_quantile = 0.5;  // the adaptive path, with the clip norm in each plan
  auto r = RunSimulation(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->committed, o.rounds);
  ASSERT_GT(r->noise_multiplier, 0);
  const double q = static_cast<double>(o.per_round) / o.clients;
  int committed = 0;
  for (const SimRound& s : r->rounds) {
    if (!s.committed) continue;
    ++committed;
    RdpAccountant acc;
    ASSERT_TRUE(acc.AddSampledGaussian(q, r->noise_multiplier, committed).ok());
    auto g = acc.GetEpsilon(o.aggregation.dp_delta);
    ASSERT_TRUE(g.ok());
    EXPECT_NEAR(s.epsilon, g->epsilon, 1e-9 * g->epsilon) << "round " << s.round;
  }
  EXPECT_LE(r->epsilon, 8.0);
  EXPECT_GT(r->epsilon, 7.9);  // z was sized so that the planned rounds use the budget
  EXPECT_GE(r->accuracy, 0.6) << "first round " << r->rounds.front().accuracy;
  EXPECT_NE(r->clip_norm, 0.5);  // adaptive clipping moved C
}

// With a fixed noise multiplier that affords only a few rounds, the task ends when the budget
// is spent, before its round limit.
TEST(FlDp, BudgetEndsTheTask) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  SimulationOptions o = ShortDp();
  o.rounds = 20;
  o.aggregation.dp_noise_multiplier = 1.0;
  const double q = static_cast<double>(o.per_round) / o.clients;
  // A budget between the ε of 3 and of 4 rounds.
  RdpAccountant acc;
  ASSERT_TRUE(acc.AddSampledGaussian(q, 1.0, 3).ok());
  const double e3 = acc.GetEpsilon(1e-5)->epsilon;
  ASSERT_TRUE(acc.AddSampledGaussian(q, 1.0, 1).ok());
  const double e4 = acc.GetEpsilon(1e-5)->epsilon;
  o.aggregation.dp_epsilon = 0.5 * (e3 + e4);
  auto r = RunSimulation(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->committed, 3);
  EXPECT_EQ(r->end_reason, "privacy budget spent");
  EXPECT_NEAR(r->epsilon, e3, 1e-9 * e3);
}

}  // namespace
}  // namespace tern::fl
