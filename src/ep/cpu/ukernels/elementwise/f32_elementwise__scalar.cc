// Portable elementwise kernels: plain loops with the reference provider's formulas (the compiler
// may vectorize them for the baseline ISA), and the run-time choice of the best variant.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ep/cpu/ukernels/elementwise/f32_elementwise.h"

namespace tern::cpu {

namespace {

template <BinaryOp Op>
inline float Apply(float a, float b) {
  if constexpr (Op == BinaryOp::kAdd) return a + b;
  if constexpr (Op == BinaryOp::kSub) return a - b;
  if constexpr (Op == BinaryOp::kMul) return a * b;
  if constexpr (Op == BinaryOp::kDiv) return a / b;
  // Max and Min propagate NaN from either side.
  if constexpr (Op == BinaryOp::kMax) return std::isnan(a) ? a : (b > a || std::isnan(b) ? b : a);
  if constexpr (Op == BinaryOp::kMin) return std::isnan(a) ? a : (b < a || std::isnan(b) ? b : a);
}

// The binary kernels of one op (a template of a class, so that the table can be built
// generically).
template <BinaryOp Op>
struct Binary {
  static void VV(size_t n, const float* a, const float* b, float* y) {
    for (size_t i = 0; i < n; ++i) y[i] = Apply<Op>(a[i], b[i]);
  }

  static void VS(size_t n, const float* a, float b, float* y) {
    for (size_t i = 0; i < n; ++i) y[i] = Apply<Op>(a[i], b);
  }

  static void SV(size_t n, const float* a, float b, float* y) {
    for (size_t i = 0; i < n; ++i) y[i] = Apply<Op>(b, a[i]);
  }
};

template <typename Fn>
void Map(size_t n, const float* x, float* y, Fn fn) {
  for (size_t i = 0; i < n; ++i) y[i] = fn(x[i]);
}

void ActivationScalar(size_t n, const float* x, float* y, const ActivationParams& p) {
  const float alpha = p.alpha, beta = p.beta;
  switch (p.act) {
    case Activation::kNone:
      if (x != y) std::copy(x, x + n, y);
      break;
    case Activation::kRelu:
      Map(n, x, y, [](float v) { return v > 0 ? v : (v == v ? 0.0f : v); });
      break;
    case Activation::kClip:
      Map(n, x, y, [=](float v) { return std::min(std::max(v, alpha), beta); });
      break;
    case Activation::kLeakyRelu:
      Map(n, x, y, [=](float v) { return v < 0 ? alpha * v : v; });
      break;
    case Activation::kSigmoid:
      Map(n, x, y, [](float v) {
        if (v >= 0) return 1.0f / (1.0f + std::exp(-v));
        const float e = std::exp(v);
        return e / (1.0f + e);
      });
      break;
    case Activation::kHardSigmoid:
      Map(n, x, y, [=](float v) { return std::max(0.0f, std::min(1.0f, alpha * v + beta)); });
      break;
    case Activation::kHardSwish:
      Map(n, x, y, [](float v) { return v * std::max(0.0f, std::min(1.0f, v / 6.0f + 0.5f)); });
      break;
    case Activation::kTanh:
      Map(n, x, y, [](float v) { return std::tanh(v); });
      break;
  }
}

void AffineScalar(size_t n, const float* x, float scale, float shift, float* y) {
  for (size_t i = 0; i < n; ++i) y[i] = x[i] * scale + shift;
}

float SumScalar(size_t n, const float* x) {
  // Four partial sums, like the vector kernels' lanes, keep rounding error growth low.
  float s[4] = {0, 0, 0, 0};
  size_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (size_t l = 0; l < 4; ++l) s[l] += x[i + l];
  for (; i < n; ++i) s[0] += x[i];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

float MaxScalar(size_t n, const float* x) {
  float m = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) m = Apply<BinaryOp::kMax>(m, x[i]);
  return m;
}

}  // namespace

const F32ElementwiseUkernels& F32ElementwiseUkernelsScalar() {
  static const F32ElementwiseUkernels k = MakeF32ElementwiseUkernels<Binary>(
      "scalar", Isa::kScalar, ActivationScalar, AffineScalar, SumScalar, MaxScalar);
  return k;
}

size_t RunnableF32ElementwiseUkernels(const F32ElementwiseUkernels** out, size_t capacity) {
  size_t count = 0;
  if (count < capacity) out[count++] = &F32ElementwiseUkernelsScalar();
#if defined(__x86_64__)
  if (count < capacity && static_cast<int>(BestIsa()) >= static_cast<int>(Isa::kAvx2))
    out[count++] = &F32ElementwiseUkernelsAvx2();
#endif
  return count;
}

const F32ElementwiseUkernels& BestF32ElementwiseUkernels() {
  static const F32ElementwiseUkernels* best = [] {
    const F32ElementwiseUkernels* all[4];
    const size_t n = RunnableF32ElementwiseUkernels(all, 4);
    return all[n - 1];
  }();
  return *best;
}

}  // namespace tern::cpu
