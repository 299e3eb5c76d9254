// Differential privacy for federated averaging: per-client L2 clipping (fixed, or adaptive to a
// target quantile of the update norms as in Andrew et al., "Differentially Private Learning with
// Adaptive Clipping", NeurIPS 2021) and Gaussian noise on the aggregate.
//
// The noise source is ChaCha20 (libsodium's randombytes_buf_deterministic) keyed either from the
// OS CSPRNG (production) or from a caller's seed (tests, reproducible simulations). Normals come
// from the Box-Muller transform on 53-bit uniforms. Known limit: floating-point Gaussian samples
// are not exactly Gaussian in their low bits (Mironov, CCS 2012); a discrete Gaussian on the
// fixed-point grid would close that gap.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "tern/status.h"

namespace tern::fl {

/// L2 norm of a vector, accumulated in double.
double L2Norm(std::span<const float> values);

/// Scales `update` in place so its L2 norm is at most `clip_norm` (> 0); returns the norm it
/// had before. Non-finite entries make the whole update zero (and return +inf): one client's
/// NaN must not poison the aggregate.
double ClipL2(std::span<float> update, double clip_norm);

/// A stream of uniform and Gaussian samples.
class NoiseSource {
 public:
  /// Keyed from the OS CSPRNG: what production uses.
  static Result<NoiseSource> Secure();
  /// Keyed from `seed`: the same seed gives the same samples (tests, simulations).
  static NoiseSource Seeded(uint64_t seed);

  /// Uniform in [0, 1) with 53 random bits.
  double Uniform();
  /// Standard normal N(0, 1).
  double Gaussian();
  /// Adds N(0, stddev^2) to every element.
  void AddGaussian(std::span<float> values, double stddev);
  void AddGaussian(std::span<double> values, double stddev);

 private:
  explicit NoiseSource(const std::array<uint8_t, 32>& key);
  void Refill();

  std::array<uint8_t, 32> key_{};
  uint64_t block_counter_ = 0;
  std::array<uint64_t, 64> buffer_{};
  size_t next_ = 64;
  bool has_spare_ = false;
  double spare_ = 0;
};

/// Noise for the sum of clipped updates: stddev = noise_multiplier * clip_norm (the L2
/// sensitivity of the sum to one client is clip_norm).
inline double GaussianStddev(double noise_multiplier, double clip_norm) {
  return noise_multiplier * clip_norm;
}

/// Adaptive clipping (Andrew et al. 2021): each client reports b = [norm <= C]; the server
/// updates C <- C * exp(-lr * (b_mean - target_quantile)), with b_mean = (Σb + N(0, σ_b²)) / n,
/// so C tracks the target quantile of the update norms (geometric update).
class AdaptiveClipper {
 public:
  struct Options {
    double initial_clip = 0.1;
    double target_quantile = 0.5;  ///< γ in (0, 1)
    double learning_rate = 0.2;    ///< η_C
    /// σ_b, the stddev of the noise on the count of unclipped clients (0 = no noise: only
    /// for tests; with DP it must be > 0, and the updates' noise shrinks accordingly, see
    /// UpdateNoiseMultiplier()).
    double count_noise_stddev = 0;
  };
  static Result<AdaptiveClipper> Create(const Options& options);

  double clip_norm() const { return clip_; }
  /// Client side: clips `update` to the current norm; returns the bit b (1 when the update
  /// was already within the norm).
  int ClipAndReport(std::span<float> update) const;
  /// Server side: the sum of the bits of `num_clients` clients; moves the clip norm.
  /// `noise` is used when count_noise_stddev > 0.
  Status Update(double unclipped_count, uint32_t num_clients, NoiseSource* noise);

  /// The noise multiplier z_Δ the updates may use so that updates and count together have the
  /// privacy of noise multiplier z: z_Δ = (z^-2 - (2σ_b)^-2)^(-1/2) (Andrew et al., Thm 1).
  /// Fails when σ_b is too small for z (2σ_b <= z).
  static Result<double> UpdateNoiseMultiplier(double noise_multiplier, double count_noise_stddev);

 private:
  explicit AdaptiveClipper(const Options& options)
      : options_(options), clip_(options.initial_clip) {}
  Options options_;
  double clip_;
};

}  // namespace tern::fl
