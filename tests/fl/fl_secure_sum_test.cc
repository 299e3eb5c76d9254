// Secure aggregation behind fl::UpdateSum: the totals equal the plain sum within the fixed-point
// resolution, with selected clients that never report (drop-outs after sharing keys).
#include <gtest/gtest.h>

#include <random>

#include "fl/update_sum.h"

namespace tern::fl {
namespace {

void CheckAgainstPlain(AggregationOptions::Secure secure, int cohort_size, int reporting) {
  AggregationOptions o;
  o.secure = secure;
  auto secure_sum = MakeUpdateSum(o);
  ASSERT_TRUE(secure_sum.ok()) << secure_sum.status().ToString();
  PlainSum plain;
  SumShape shape{257, 3, 5};
  std::vector<std::string> cohort;
  for (int i = 0; i < cohort_size; ++i)
    cohort.push_back(std::string(1, static_cast<char>('A' + i)));
  ASSERT_TRUE((*secure_sum)->Begin(7, cohort, shape).ok());
  ASSERT_TRUE(plain.Begin(7, cohort, shape).ok());
  std::mt19937 rng(cohort_size);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<std::string> counted;
  for (int i = 0; i < reporting; ++i) {
    ClientUpdate up;
    for (size_t k = 0; k < shape.delta; ++k) up.delta.push_back(u(rng));
    for (size_t k = 0; k < shape.states; ++k) up.states.push_back(u(rng) + 1.0f);
    for (size_t k = 0; k < shape.control; ++k) up.control_delta.push_back(u(rng));
    const double w = 100 + 37 * i;
    up.examples = static_cast<int64_t>(w);
    Status added = (*secure_sum)->Add(cohort[i], up, w);
    ASSERT_TRUE(added.ok()) << added.ToString();
    ASSERT_TRUE(plain.Add(cohort[i], up, w).ok());
    counted.push_back(cohort[i]);
  }
  auto s = (*secure_sum)->Finish(counted);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto p = plain.Finish(counted);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(s->contributions, reporting);
  EXPECT_NEAR(s->weight, p->weight, 1e-3 * p->weight);
  for (size_t k = 0; k < shape.delta; ++k)
    EXPECT_NEAR(s->weighted_delta[k], p->weighted_delta[k], 0.05) << k;
  for (size_t k = 0; k < shape.states; ++k)
    EXPECT_NEAR(s->weighted_states[k], p->weighted_states[k], 0.05) << k;
  for (size_t k = 0; k < shape.control; ++k)
    EXPECT_NEAR(s->control_delta[k], p->control_delta[k], 1e-4) << k;
}

TEST(FlSecureSum, SecAggMatchesThePlainSumWithDropouts) {
  CheckAgainstPlain(AggregationOptions::Secure::kSecAgg, 10, 8);
}

TEST(FlSecureSum, SecAggPlusMatchesThePlainSumWithDropouts) {
  CheckAgainstPlain(AggregationOptions::Secure::kSecAggPlus, 30, 24);
}

TEST(FlSecureSum, CountedClientsMustBeThoseThatReported) {
  AggregationOptions o;
  o.secure = AggregationOptions::Secure::kSecAgg;
  auto sum = MakeUpdateSum(o);
  ASSERT_TRUE(sum.ok());
  SumShape shape{4, 0, 0};
  ASSERT_TRUE((*sum)->Begin(1, {"a", "b", "c", "d"}, shape).ok());
  ClientUpdate up;
  up.delta = {0.1f, 0.2f, 0.3f, 0.4f};
  up.examples = 10;
  for (const char* c : {"a", "b", "c"}) ASSERT_TRUE((*sum)->Add(c, up, 10).ok());
  EXPECT_FALSE((*sum)->Add("stranger", up, 10).ok());
  EXPECT_FALSE((*sum)->Finish({"a", "b", "c", "d"}).ok()) << "d never reported";
}

}  // namespace
}  // namespace tern::fl
