// Shared helpers for the signal kernels (DFT, STFT): a plain O(n^2) discrete Fourier transform in
// double precision with exactly reduced twiddle angles.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <vector>

namespace tern::ref::signal {

/// Largest number of multiply-adds one kernel call may spend (beyond it: ResourceExhausted).
constexpr int64_t kMaxDftWork = int64_t{1} << 34;

/// The length-n DFT (forward: e^{-2 pi i jk/n}; inverse: e^{+2 pi i jk/n} scaled by 1/n) with a
/// precomputed twiddle table whose angles are reduced exactly ((j * k) mod n).
class Dft {
 public:
  Dft(int64_t n, bool inverse) : n_(n), inverse_(inverse), twiddle_(static_cast<size_t>(n)) {
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    const double sign = inverse ? 1.0 : -1.0;
    for (int64_t t = 0; t < n; ++t) {
      const double angle = sign * kTwoPi * static_cast<double>(t) / static_cast<double>(n);
      twiddle_[static_cast<size_t>(t)] = {std::cos(angle), std::sin(angle)};
    }
  }
  /// Writes the first `out_len` bins of the DFT of `in` (zero padded or truncated to n).
  void Transform(const std::vector<std::complex<double>>& in, int64_t out_len,
                 std::complex<double>* out) const {
    const int64_t m = std::min<int64_t>(static_cast<int64_t>(in.size()), n_);
    for (int64_t k = 0; k < out_len; ++k) {
      std::complex<double> acc(0, 0);
      const int64_t step = k % n_;
      int64_t phase = 0;
      for (int64_t j = 0; j < m; ++j) {
        acc += in[static_cast<size_t>(j)] * twiddle_[static_cast<size_t>(phase)];
        phase += step;
        if (phase >= n_) phase -= n_;
      }
      out[k] = inverse_ ? acc / static_cast<double>(n_) : acc;
    }
  }

 private:
  int64_t n_;
  bool inverse_;
  std::vector<std::complex<double>> twiddle_;
};

}  // namespace tern::ref::signal
