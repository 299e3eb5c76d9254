// Portable versions of the recurrent microkernels; also the oracle the SIMD ones are tested
// against, and the variant chooser.
#include <algorithm>
#include <cmath>

#include "ep/cpu/ukernels/rnn/f32_rnn.h"

namespace tern::cpu {

void f32_gemv__scalar(size_t rows, const float* x, size_t ldx, const float* wt, size_t k, size_t n,
                      float* y, size_t ldy) {
  // k-major: each step adds one row of wt scaled by x[kk], a loop compilers vectorize.
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    for (size_t kk = 0; kk < k; ++kk) {
      const float xv = xr[kk];
      const float* row = wt + kk * n;
      for (size_t j = 0; j < n; ++j) yr[j] += xv * row[j];
    }
  }
}

namespace {
inline float Clip(float x, float clip) { return clip > 0 ? std::max(-clip, std::min(clip, x)) : x; }
inline float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

void f32_lstm_cell__scalar(const LstmCellArgs& a) {
  const size_t H = a.hidden;
  const float* gi = a.gates;
  const float* go = a.gates + H;
  const float* gf = a.gates + 2 * H;
  const float* gc = a.gates + 3 * H;
  for (size_t j = 0; j < H; ++j) {
    const float c_prev = a.c[j];
    const float pi = a.peephole ? a.peephole[j] * c_prev : 0.0f;
    const float pf = a.peephole ? a.peephole[2 * H + j] * c_prev : 0.0f;
    const float i = Sigmoid(Clip(gi[j] + pi, a.clip));
    const float f = Sigmoid(Clip(gf[j] + pf, a.clip));
    const float ct = std::tanh(Clip(gc[j], a.clip));
    const float c_new = f * c_prev + i * ct;
    const float po = a.peephole ? a.peephole[H + j] * c_new : 0.0f;
    const float o = Sigmoid(Clip(go[j] + po, a.clip));
    a.c[j] = c_new;
    a.h[j] = o * std::tanh(c_new);
  }
}

namespace {
#if defined(__x86_64__)
constexpr F32RnnUkernels kSets[] = {
    {Isa::kScalar, f32_gemv__scalar, f32_lstm_cell__scalar},
    {Isa::kAvx2, f32_gemv__avx2, f32_lstm_cell__avx2},
};
#else
constexpr F32RnnUkernels kSets[] = {
    {Isa::kScalar, f32_gemv__scalar, f32_lstm_cell__scalar},
};
#endif
}  // namespace

const F32RnnUkernels* F32RnnUkernelSets(size_t* count) {
  *count = sizeof(kSets) / sizeof(kSets[0]);
  return kSets;
}

const F32RnnUkernels& BestF32RnnUkernels() {
  static const F32RnnUkernels* best = [] {
    const Isa isa = BestIsa();
    const F32RnnUkernels* pick = &kSets[0];
    for (const auto& k : kSets)
      if (static_cast<int>(k.isa) <= static_cast<int>(isa)) pick = &k;
    return pick;
  }();
  return *best;
}

}  // namespace tern::cpu
