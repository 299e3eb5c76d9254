// The simulation: the Dirichlet split, and a short federated run on a Fashion-MNIST subset in
// which the global model must learn despite drop-outs and stragglers.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "fl/simulation.h"
#include "train/dataset.h"

namespace tern::fl {
namespace {

// Mean over clients of the largest share one class has in a client's data.
double MeanTopClassShare(const std::vector<std::vector<int64_t>>& split,
                         const std::vector<int64_t>& labels) {
  double sum = 0;
  int counted = 0;
  for (const auto& idx : split) {
    if (idx.empty()) continue;
    std::vector<int> counts(10, 0);
    for (int64_t i : idx) ++counts[static_cast<size_t>(labels[static_cast<size_t>(i)])];
    sum += *std::max_element(counts.begin(), counts.end()) / static_cast<double>(idx.size());
    ++counted;
  }
  return sum / counted;
}

TEST(FlSimulation, DirichletSplitPartitionsEveryExampleOnce) {
  std::vector<int64_t> labels(5000);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 10);
  auto split = DirichletSplit(labels, 10, 40, 0.5, 3);
  ASSERT_EQ(split.size(), 40u);
  std::vector<int64_t> all;
  for (const auto& s : split) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  std::vector<int64_t> expect(labels.size());
  std::iota(expect.begin(), expect.end(), 0);
  EXPECT_EQ(all, expect);
  // Small alpha concentrates each client on few labels; large alpha approaches IID (0.1).
  const double skewed = MeanTopClassShare(DirichletSplit(labels, 10, 40, 0.1, 3), labels);
  const double mixed = MeanTopClassShare(DirichletSplit(labels, 10, 40, 100.0, 3), labels);
  EXPECT_GT(skewed, 0.6);
  EXPECT_LT(mixed, 0.25);
  // Deterministic for a seed.
  EXPECT_EQ(DirichletSplit(labels, 10, 40, 0.5, 3), split);
}

bool HaveFashionMnist() {
  return std::filesystem::exists(std::string(train::kFashionMnistDir) +
                                 "/train-labels-idx1-ubyte.gz");
}

SimulationOptions Short() {
  SimulationOptions o;
  o.clients = 20;
  o.per_round = 10;
  o.rounds = 10;
  o.alpha = 0.5;
  o.dropout = 0.2;
  o.train_limit = 6000;
  o.test_limit = 1000;
  o.hidden = 32;
  o.plan.epochs = 2;
  o.plan.batch = 32;
  o.plan.learning_rate = 0.05f;
  o.seed = 11;
  return o;
}

void ExpectLearns(const SimulationOptions& o, double bar) {
  std::vector<SimRound> seen;
  auto r = RunSimulation(o, [&](const SimRound& s) { seen.push_back(s); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->committed, o.rounds);
  ASSERT_EQ(seen.size(), r->rounds.size());
  int dropped = 0;
  for (const SimRound& s : seen) {
    if (!s.committed) continue;
    dropped += s.dropped;
    EXPECT_GE(s.reports, 5);  // min_reports = ceil(0.5 * 10)
    EXPECT_GE(s.accuracy, 0);
  }
  EXPECT_GT(dropped, 0);  // the drop-out path was exercised
  const double first = seen.front().accuracy;
  EXPECT_GE(r->accuracy, bar) << "first round " << first;
  EXPECT_GT(r->accuracy, first + 0.1);
  EXPECT_LT(r->epsilon, 0);  // no DP: no epsilon
}

TEST(FlSimulation, FedAvgLearnsDespiteDropouts) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  ExpectLearns(Short(), 0.65);
}

TEST(FlSimulation, ScaffoldAndFedProxLearnWithTwoThreads) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  SimulationOptions o = Short();
  o.threads = 2;
  o.algorithm = Algorithm::kScaffold;
  ExpectLearns(o, 0.65);
  o.algorithm = Algorithm::kFedProx;
  o.plan.prox_mu = 0.01f;
  ExpectLearns(o, 0.65);
}

// Many clients with a few examples each: deadlines are short next to the selection window, so
// devices that arrive after selection closed must not push the clock past the deadline of
// clients not yet trained (every round used to fail with 0 reports).
TEST(FlSimulation, ManySmallClientsCommitEveryRoundFirstTime) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  SimulationOptions o = Short();
  o.clients = 300;
  o.per_round = 30;
  o.rounds = 4;
  o.train_limit = 3000;
  o.test_limit = 200;
  o.hidden = 16;
  o.plan.epochs = 1;
  auto r = RunSimulation(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->committed, 4);
  for (const SimRound& s : r->rounds) {
    EXPECT_TRUE(s.committed) << "round " << s.round << " attempt " << s.attempt << ": "
                             << s.failure;
    EXPECT_GE(s.reports, 15);
  }
}

// The same short run with the coordinator seeing only masked contributions (SecAgg, and
// SecAgg+ with neighbourhoods) learns like the plain sum.
TEST(FlSimulation, SecureAggregationLearns) {
  if (!HaveFashionMnist()) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  SimulationOptions o = Short();
  o.aggregation.secure = AggregationOptions::Secure::kSecAgg;
  ExpectLearns(o, 0.65);
  o.aggregation.secure = AggregationOptions::Secure::kSecAggPlus;
  o.per_round = 14;  // above 8: a real neighbour graph
  ExpectLearns(o, 0.65);
}

}  // namespace
}  // namespace tern::fl
