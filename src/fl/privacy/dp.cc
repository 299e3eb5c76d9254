#include "fl/privacy/dp.h"

#include <sodium.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>
#include <string>

namespace tern::fl {

double L2Norm(std::span<const float> values) {
  double sum = 0;
  for (float v : values) sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
}

double ClipL2(std::span<float> update, double clip_norm) {
  double norm = L2Norm(update);
  if (!std::isfinite(norm)) {
    for (float& v : update) v = 0;
    return std::numeric_limits<double>::infinity();
  }
  if (norm > clip_norm) {
    const double factor = clip_norm / norm;
    for (float& v : update) v = static_cast<float>(v * factor);
  }
  return norm;
}

// ---- NoiseSource ----

NoiseSource::NoiseSource(const std::array<uint8_t, 32>& key) : key_(key) {}

Result<NoiseSource> NoiseSource::Secure() {
  if (sodium_init() < 0) return Internal("libsodium failed to initialize");
  std::array<uint8_t, 32> key{};
  randombytes_buf(key.data(), key.size());
  NoiseSource source(key);
  sodium_memzero(key.data(), key.size());
  return source;
}

NoiseSource NoiseSource::Seeded(uint64_t seed) {
  // The seed is hashed into a ChaCha20 key so that nearby seeds give unrelated streams.
  std::array<uint8_t, 32> key{};
  uint8_t input[8 + 14] = {'t', 'e', 'r', 'n', '-', 'd', 'p', '-', 'n', 'o', 'i', 's', 'e', '|'};
  std::memcpy(input + 14, &seed, 8);
  crypto_generichash(key.data(), key.size(), input, sizeof(input), nullptr, 0);
  return NoiseSource(key);
}

void NoiseSource::Refill() {
  static const uint8_t kZeros[sizeof(buffer_)] = {};
  const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {};
  crypto_stream_chacha20_xor_ic(reinterpret_cast<uint8_t*>(buffer_.data()), kZeros, sizeof(buffer_),
                                nonce, block_counter_, key_.data());
  block_counter_ += sizeof(buffer_) / 64;
  next_ = 0;
}

double NoiseSource::Uniform() {
  if (next_ == buffer_.size()) Refill();
  return static_cast<double>(buffer_[next_++] >> 11) * 0x1.0p-53;
}

double NoiseSource::Gaussian() {
  // Box-Muller: two uniforms give two independent normals; the second is kept for the next call.
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u1 = 1.0 - Uniform();  // (0, 1]: log stays finite
  double u2 = Uniform();
  double radius = std::sqrt(-2.0 * std::log(u1));
  double angle = 2.0 * std::numbers::pi * u2;
  spare_ = radius * std::sin(angle);
  has_spare_ = true;
  return radius * std::cos(angle);
}

void NoiseSource::AddGaussian(std::span<float> values, double stddev) {
  for (float& v : values) v = static_cast<float>(v + stddev * Gaussian());
}

void NoiseSource::AddGaussian(std::span<double> values, double stddev) {
  for (double& v : values) v += stddev * Gaussian();
}

// ---- AdaptiveClipper ----

Result<AdaptiveClipper> AdaptiveClipper::Create(const Options& options) {
  if (!(options.initial_clip > 0) || !std::isfinite(options.initial_clip)) {
    return InvalidArgument("adaptive clipping: initial_clip must be > 0");
  }
  if (!(options.target_quantile > 0 && options.target_quantile < 1)) {
    return InvalidArgument("adaptive clipping: target_quantile must be in (0, 1)");
  }
  if (!(options.learning_rate >= 0) || !(options.count_noise_stddev >= 0)) {
    return InvalidArgument("adaptive clipping: learning_rate and count_noise_stddev must be >= 0");
  }
  return AdaptiveClipper(options);
}

int AdaptiveClipper::ClipAndReport(std::span<float> update) const {
  double norm = ClipL2(update, clip_);
  return norm <= clip_ ? 1 : 0;
}

Status AdaptiveClipper::Update(double unclipped_count, uint32_t num_clients, NoiseSource* noise) {
  if (num_clients == 0) return InvalidArgument("adaptive clipping: no clients in the round");
  double noisy = unclipped_count;
  if (options_.count_noise_stddev > 0) {
    if (noise == nullptr) {
      return InvalidArgument(
          "adaptive clipping: count noise is configured but no NoiseSource given");
    }
    noisy += options_.count_noise_stddev * noise->Gaussian();
  }
  double fraction = noisy / num_clients;
  // Geometric update: the step is relative to C, so C moves by the same factor whatever its
  // scale, and it stays positive.
  clip_ *= std::exp(-options_.learning_rate * (fraction - options_.target_quantile));
  return Status::Ok();
}

Result<double> AdaptiveClipper::UpdateNoiseMultiplier(double noise_multiplier,
                                                      double count_noise_stddev) {
  if (!(noise_multiplier > 0) || !(count_noise_stddev > 0)) {
    return InvalidArgument("adaptive clipping: noise multiplier and count noise must be > 0");
  }
  double inner = std::pow(noise_multiplier, -2) - std::pow(2 * count_noise_stddev, -2);
  if (!(inner > 0)) {
    return InvalidArgument("adaptive clipping: count noise " + std::to_string(count_noise_stddev) +
                           " is too small for noise multiplier " +
                           std::to_string(noise_multiplier) + " (needs 2*sigma_b > z)");
  }
  return 1.0 / std::sqrt(inner);
}

}  // namespace tern::fl
