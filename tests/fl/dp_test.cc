// Clipping, Gaussian noise statistics and adaptive clipping.
#include "fl/privacy/dp.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace tern::fl {
namespace {

TEST(Clipping, ScalesDownToTheNormAndKeepsDirection) {
  std::vector<float> v = {3, 4, 0, 0};  // norm 5
  double before = ClipL2(v, 1.0);
  EXPECT_DOUBLE_EQ(before, 5.0);
  EXPECT_NEAR(L2Norm(v), 1.0, 1e-6);
  EXPECT_NEAR(v[0], 0.6, 1e-6);
  EXPECT_NEAR(v[1], 0.8, 1e-6);
  std::vector<float> small = {0.1f, -0.2f};
  std::vector<float> copy = small;
  EXPECT_NEAR(ClipL2(small, 1.0), std::sqrt(0.05), 1e-6);
  EXPECT_EQ(small, copy);
  std::vector<float> bad = {1.0f, NAN, 2.0f};
  EXPECT_TRUE(std::isinf(ClipL2(bad, 1.0)));
  for (float x : bad) EXPECT_EQ(x, 0.0f);
}

TEST(Noise, SeededStreamsRepeatAndDiffer) {
  auto a = NoiseSource::Seeded(7), b = NoiseSource::Seeded(7), c = NoiseSource::Seeded(8);
  int same_c = 0;
  for (int i = 0; i < 100; ++i) {
    double x = a.Gaussian();
    EXPECT_EQ(x, b.Gaussian());
    same_c += x == c.Gaussian();
  }
  EXPECT_EQ(same_c, 0);
  auto s1 = NoiseSource::Secure(), s2 = NoiseSource::Secure();
  ASSERT_TRUE(s1.ok() && s2.ok());
  EXPECT_NE(s1->Uniform(), s2->Uniform());
}

TEST(Noise, GaussianMomentsAndTails) {
  auto noise = NoiseSource::Seeded(2024);
  const int n = 400000;
  double sum = 0, sum2 = 0, sum4 = 0;
  int within1 = 0, beyond3 = 0;
  for (int i = 0; i < n; ++i) {
    double x = noise.Gaussian();
    sum += x;
    sum2 += x * x;
    sum4 += x * x * x * x;
    within1 += std::abs(x) < 1;
    beyond3 += std::abs(x) > 3;
  }
  double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 0, 5 / std::sqrt(n));
  EXPECT_NEAR(var, 1, 5 * std::sqrt(2.0 / n));
  EXPECT_NEAR(sum4 / n, 3, 5 * std::sqrt(96.0 / n));
  EXPECT_NEAR(within1 / double(n), 0.682689, 0.004);
  EXPECT_NEAR(beyond3 / double(n), 0.0026998, 0.0005);
  double u = 0;
  for (int i = 0; i < n; ++i) u += noise.Uniform();
  EXPECT_NEAR(u / n, 0.5, 5 * std::sqrt(1.0 / 12 / n));
}

TEST(Noise, AggregateNoiseHasTheCalibratedStddev) {
  // 20 clients' updates clipped to C = 0.5, summed, noise multiplier 1.3: the noise on the
  // sum has stddev 0.65 whatever the updates were.
  const double clip = 0.5, z = 1.3;
  const size_t dim = 50000;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0, 1);
  std::vector<double> sum(dim, 0);
  for (int c = 0; c < 20; ++c) {
    std::vector<float> update(dim);
    for (float& v : update) v = dist(rng);
    ClipL2(update, clip);
    EXPECT_LE(L2Norm(update), clip * (1 + 1e-6));
    for (size_t i = 0; i < dim; ++i) sum[i] += update[i];
  }
  std::vector<double> noisy = sum;
  auto noise = NoiseSource::Seeded(3);
  noise.AddGaussian(noisy, GaussianStddev(z, clip));
  double s2 = 0;
  for (size_t i = 0; i < dim; ++i) s2 += (noisy[i] - sum[i]) * (noisy[i] - sum[i]);
  EXPECT_NEAR(std::sqrt(s2 / dim), z * clip, 0.01);
  std::vector<float> f(1000, 1.0f);
  noise.AddGaussian(f, 0.0);
  EXPECT_EQ(f, std::vector<float>(1000, 1.0f));
}

// Norms uniform on [0, 10]: the clip norm should settle at the target quantile γ·10.
double RunAdaptive(double target, double count_noise, int rounds) {
  AdaptiveClipper::Options options;
  options.initial_clip = 0.1;
  options.target_quantile = target;
  options.learning_rate = 0.2;
  options.count_noise_stddev = count_noise;
  auto clipper = AdaptiveClipper::Create(options);
  EXPECT_TRUE(clipper.ok());
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> norm_dist(0, 10);
  auto noise = NoiseSource::Seeded(5);
  const int clients = 200;
  for (int r = 0; r < rounds; ++r) {
    double unclipped = 0;
    for (int c = 0; c < clients; ++c) {
      float norm = norm_dist(rng);
      std::vector<float> update = {norm * 0.6f, norm * 0.8f};
      unclipped += clipper->ClipAndReport(update);
      EXPECT_LE(L2Norm(update), clipper->clip_norm() * (1 + 1e-5));
    }
    EXPECT_TRUE(clipper->Update(unclipped, clients, &noise).ok());
  }
  return clipper->clip_norm();
}

TEST(AdaptiveClipping, TracksTheTargetQuantile) {
  EXPECT_NEAR(RunAdaptive(0.5, 0, 400), 5.0, 0.5);
  EXPECT_NEAR(RunAdaptive(0.8, 0, 400), 8.0, 0.6);
  EXPECT_NEAR(RunAdaptive(0.5, 10.0, 400), 5.0, 1.0);  // with noise on the count
}

TEST(AdaptiveClipping, NoiseSplitAndOptionChecks) {
  auto z = AdaptiveClipper::UpdateNoiseMultiplier(1.0, 10.0);
  ASSERT_TRUE(z.ok());
  EXPECT_NEAR(*z, 1.0 / std::sqrt(1 - 1.0 / 400), 1e-12);
  EXPECT_FALSE(AdaptiveClipper::UpdateNoiseMultiplier(1.0, 0.5).ok());
  AdaptiveClipper::Options bad;
  bad.target_quantile = 1.0;
  EXPECT_FALSE(AdaptiveClipper::Create(bad).ok());
  AdaptiveClipper::Options noisy;
  noisy.count_noise_stddev = 1.0;
  auto clipper = AdaptiveClipper::Create(noisy);
  ASSERT_TRUE(clipper.ok());
  EXPECT_FALSE(clipper->Update(1, 10, nullptr).ok());
  EXPECT_FALSE(clipper->Update(1, 0, nullptr).ok());
}

}  // namespace
}  // namespace tern::fl
