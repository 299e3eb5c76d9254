// Aggregation math: the plain sum, FedAvg weights, FedAdam/FedYogi server steps, SCAFFOLD's
// server control variate, clipping and the flat parameter layout.
#include <gtest/gtest.h>

#include <cmath>

#include "fl/params.h"
#include "fl/server_optimizer.h"
#include "fl/update_sum.h"

namespace tern::fl {
namespace {

// "c<i>". (Built with append: GCC 12 at -O3 warns falsely (-Wrestrict) on "c" + to_string.)
std::string ClientId(size_t i) {
  std::string id = "c";
  id.append(std::to_string(i));
  return id;
}

ClientUpdate Update(std::vector<float> delta, int64_t examples) {
  ClientUpdate u;
  u.delta = std::move(delta);
  u.examples = examples;
  return u;
}

Result<UpdateTotals> SumOf(const std::vector<ClientUpdate>& updates, const SumShape& shape) {
  PlainSum sum;
  std::vector<std::string> ids;
  for (size_t i = 0; i < updates.size(); ++i) ids.push_back(ClientId(i));
  TERN_RETURN_IF_ERROR(sum.Begin(1, ids, shape));
  for (size_t i = 0; i < updates.size(); ++i)
    TERN_RETURN_IF_ERROR(sum.Add(ids[i], updates[i], static_cast<double>(updates[i].examples)));
  return sum.Finish(ids);
}

TEST(FlAggregation, FedAvgWeightsUpdatesByExampleCount) {
  // Two clients: 10 examples moving +1, 30 examples moving -1 -> mean -0.5 per coordinate.
  auto totals = SumOf({Update({1, 2}, 10), Update({-1, 0}, 30)}, SumShape{2, 0, 0});
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_DOUBLE_EQ(totals->weight, 40);
  EXPECT_EQ(totals->contributions, 2);
  auto opt = ServerOptimizer::Create(Algorithm::kFedAvg, {}, 2, 10).value();
  std::vector<float> params = {0.5f, 0.5f}, states;
  ASSERT_TRUE(opt.Apply(*totals, params, states).ok());
  EXPECT_FLOAT_EQ(params[0], 0.5f + (10 * 1 + 30 * -1) / 40.0f);
  EXPECT_FLOAT_EQ(params[1], 0.5f + (10 * 2 + 30 * 0) / 40.0f);
}

TEST(FlAggregation, ServerLearningRateScalesTheMeanUpdate) {
  auto totals = SumOf({Update({2}, 1), Update({4}, 1)}, SumShape{1, 0, 0}).value();
  ServerOptimizerConfig c;
  c.learning_rate = 0.5;
  auto opt = ServerOptimizer::Create(Algorithm::kFedProx, c, 1, 10).value();
  std::vector<float> params = {1}, states;
  ASSERT_TRUE(opt.Apply(totals, params, states).ok());
  EXPECT_FLOAT_EQ(params[0], 1 + 0.5f * 3);
}

TEST(FlAggregation, RunningStatisticsBecomeTheWeightedMean) {
  ClientUpdate a = Update({0}, 1), b = Update({0}, 3);
  a.states = {4};
  b.states = {8};
  auto totals = SumOf({a, b}, SumShape{1, 1, 0}).value();
  auto opt = ServerOptimizer::Create(Algorithm::kFedAvg, {}, 1, 10).value();
  std::vector<float> params = {0}, states = {100};
  ASSERT_TRUE(opt.Apply(totals, params, states).ok());
  EXPECT_FLOAT_EQ(states[0], (4 + 3 * 8) / 4.0f);
}

TEST(FlAggregation, PlainSumRefusesBadUpdates) {
  PlainSum sum;
  ASSERT_TRUE(sum.Begin(1, {"a", "b"}, SumShape{2, 0, 0}).ok());
  EXPECT_FALSE(sum.Add("a", Update({1}, 5), 5).ok());                 // wrong size
  EXPECT_FALSE(sum.Add("a", Update({1, std::nanf("")}, 5), 5).ok());  // NaN
  EXPECT_FALSE(sum.Add("a", Update({1, 1}, 0), 1).ok());              // no examples
  EXPECT_FALSE(sum.Add("a", Update({1, 1}, 5), 0).ok());              // no weight
  ASSERT_TRUE(sum.Add("a", Update({1, 1}, 5), 5).ok());
  // The counted set must be exactly the clients that contributed.
  EXPECT_FALSE(sum.Finish({"a", "b"}).ok());
}

// Reddi et al. 2021, Algorithm 2, computed by hand for two rounds.
TEST(FlAggregation, FedAdamFollowsTheAdaptiveRecurrence) {
  ServerOptimizerConfig c;
  c.learning_rate = 0.1;
  c.beta1 = 0.9;
  c.beta2 = 0.99;
  c.tau = 1e-3;
  auto opt = ServerOptimizer::Create(Algorithm::kFedAdam, c, 2, 10).value();
  std::vector<float> params = {1.0f, -1.0f}, states;
  double m[2] = {0, 0}, v[2] = {1e-6, 1e-6}, x[2] = {1.0, -1.0};
  const double deltas[2][2] = {{0.2, -0.05}, {-0.1, 0.0}};
  for (const auto& d : deltas) {
    auto totals =
        SumOf({Update({static_cast<float>(d[0]), static_cast<float>(d[1])}, 4)}, SumShape{2, 0, 0})
            .value();
    ASSERT_TRUE(opt.Apply(totals, params, states).ok());
    for (int i = 0; i < 2; ++i) {
      m[i] = 0.9 * m[i] + 0.1 * d[i];
      v[i] = 0.99 * v[i] + 0.01 * d[i] * d[i];
      x[i] += 0.1 * m[i] / (std::sqrt(v[i]) + 1e-3);
      EXPECT_NEAR(params[i], x[i], 1e-5) << "coordinate " << i;
      EXPECT_NEAR(opt.second_moment()[i], v[i], 1e-9);
    }
  }
}

TEST(FlAggregation, FedAvgServerMomentumAccumulatesTheMeanUpdates) {
  ServerOptimizerConfig c;
  c.learning_rate = 0.5;
  c.momentum = 0.9;
  auto opt = ServerOptimizer::Create(Algorithm::kFedAvg, c, 1, 10).value();
  std::vector<float> params = {0.0f}, states;
  double m = 0, x = 0;
  for (double d : {1.0, -0.5, 0.25}) {
    auto totals = SumOf({Update({static_cast<float>(d)}, 3)}, SumShape{1, 0, 0}).value();
    ASSERT_TRUE(opt.Apply(totals, params, states).ok());
    m = 0.9 * m + d;
    x += 0.5 * m;
    EXPECT_NEAR(params[0], x, 1e-6);
  }
  c.momentum = 1.0;
  EXPECT_FALSE(ServerOptimizer::Create(Algorithm::kFedAvg, c, 1, 10).ok());
}

TEST(FlAggregation, FedYogiSecondMomentMovesAdditively) {
  ServerOptimizerConfig c;
  c.learning_rate = 0.1;
  c.beta2 = 0.9;
  c.tau = 0.5;  // v starts at 0.25
  auto opt = ServerOptimizer::Create(Algorithm::kFedYogi, c, 2, 10).value();
  std::vector<float> params = {0, 0}, states;
  // d^2 = 1 > v: v grows by (1-b2) d^2 = 0.1; d^2 = 0.01 < v: v shrinks by 0.001.
  auto totals = SumOf({Update({1.0f, 0.1f}, 1)}, SumShape{2, 0, 0}).value();
  ASSERT_TRUE(opt.Apply(totals, params, states).ok());
  EXPECT_NEAR(opt.second_moment()[0], 0.25 + 0.1, 1e-9);
  EXPECT_NEAR(opt.second_moment()[1], 0.25 - 0.001, 1e-9);
  const double m0 = 0.1 * 1.0, m1 = 0.1 * 0.1;
  EXPECT_NEAR(params[0], 0.1 * m0 / (std::sqrt(0.35) + 0.5), 1e-6);
  EXPECT_NEAR(params[1], 0.1 * m1 / (std::sqrt(0.249) + 0.5), 1e-6);
  // Adam on the same input would have shrunk v for the second coordinate much more.
  auto adam = ServerOptimizer::Create(Algorithm::kFedAdam, c, 2, 10).value();
  std::vector<float> p2 = {0, 0};
  ASSERT_TRUE(adam.Apply(totals, p2, states).ok());
  EXPECT_NEAR(adam.second_moment()[1], 0.9 * 0.25 + 0.1 * 0.01, 1e-9);
}

TEST(FlAggregation, ScaffoldServerControlAddsSumOverPopulation) {
  const int64_t population = 8;
  auto opt = ServerOptimizer::Create(Algorithm::kScaffold, {}, 2, population).value();
  ClientUpdate a = Update({1, 1}, 2), b = Update({3, -1}, 2);
  a.control_delta = {0.4f, -0.8f};
  b.control_delta = {1.2f, 0.0f};
  auto totals = SumOf({a, b}, SumShape{2, 0, 2}).value();
  EXPECT_NEAR(totals.control_delta[0], 1.6, 1e-6);  // unweighted sum
  std::vector<float> params = {0, 0}, states;
  ASSERT_TRUE(opt.Apply(totals, params, states).ok());
  // c += |S|/N * mean(dc) = sum(dc) / N.
  EXPECT_NEAR(opt.control()[0], 1.6 / population, 1e-6);
  EXPECT_NEAR(opt.control()[1], -0.8 / population, 1e-6);
  EXPECT_FLOAT_EQ(params[0], 2.0f);
  EXPECT_FLOAT_EQ(params[1], 0.0f);
  // The variate accumulates over rounds.
  ASSERT_TRUE(opt.Apply(totals, params, states).ok());
  EXPECT_NEAR(opt.control()[0], 3.2 / population, 1e-6);
}

TEST(FlAggregation, ClipToNormBoundsTheUpdate) {
  std::vector<float> v = {3, 4};
  EXPECT_DOUBLE_EQ(ClipToNorm(v, 10), 5);  // within the bound: unchanged
  EXPECT_FLOAT_EQ(v[0], 3);
  EXPECT_DOUBLE_EQ(ClipToNorm(v, 1), 5);
  EXPECT_NEAR(L2Norm(v), 1.0, 1e-6);
  EXPECT_NEAR(v[0] / v[1], 0.75, 1e-6);  // direction kept
}

TEST(FlAggregation, LayoutRoundTripsNamedTensors) {
  NamedTensors t;
  t.emplace_back("w", Tensor::FromVector<float>(DataType::kFloat32, Shape{2, 2}, {1, 2, 3, 4}));
  t.emplace_back("b", Tensor::FromVector<float>(DataType::kFloat32, Shape{3}, {5, 6, 7}));
  auto layout = ParamLayout::Of(t).value();
  EXPECT_EQ(layout.size, 7u);
  EXPECT_EQ(layout.offsets[1], 4u);
  auto flat = layout.Flatten(t).value();
  EXPECT_EQ(flat, (std::vector<float>{1, 2, 3, 4, 5, 6, 7}));
  flat[5] = 60;
  auto back = layout.Unflatten(flat).value();
  EXPECT_EQ(back[1].first, "b");
  EXPECT_FLOAT_EQ(back[1].second.data<float>()[1], 60);
  EXPECT_FALSE(layout.Unflatten({1, 2}).ok());
  std::swap(t[0], t[1]);
  EXPECT_FALSE(layout.Flatten(t).ok());  // order matters
}

TEST(FlAggregation, SecureSumsAndCentralDpAreConnected) {
  AggregationOptions o;
  o.secure = AggregationOptions::Secure::kSecAgg;
  auto s = MakeUpdateSum(o);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->name(), "secagg");
  o.secure = AggregationOptions::Secure::kSecAggPlus;
  EXPECT_EQ((*MakeUpdateSum(o))->name(), "secagg+");
  AggregationOptions dp;
  dp.dp_epsilon = 8;
  EXPECT_EQ(MakeUpdateSum(dp).status().code(), StatusCode::kInvalidArgument);  // no clip norm
  dp.clip_norm = 1;
  dp.population = 100;
  dp.expected_reports = 10;
  dp.rounds = 5;
  EXPECT_EQ((*MakeUpdateSum(dp))->name(), "dp(plain)");
  dp.secure = AggregationOptions::Secure::kSecAggPlus;
  EXPECT_EQ((*MakeUpdateSum(dp))->name(), "dp(secagg+)");
  EXPECT_TRUE(MakeUpdateSum({}).ok());
}

}  // namespace
}  // namespace tern::fl
