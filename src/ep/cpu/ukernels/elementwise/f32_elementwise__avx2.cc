// Elementwise kernels for AVX2+FMA: 8 floats per step, unrolled by 4; the tail (< 8 floats) goes
// through a small stack buffer and the same vector code, so every element gets the same
// arithmetic. exp is a Cody-Waite range reduction to [-ln2/2, ln2/2] with a degree-6 polynomial
// (about 2 ulp); Sigmoid is 1 / (1 + exp(-x)); Tanh uses its odd Taylor series below |x| = 0.25
// (where 1 - 2 / (exp(2|x|) + 1) would cancel) and that form above.
// Compiled with -mavx2 -mfma; only called when the CPU has them.
#include <immintrin.h>

#include <cstring>

#include "ep/cpu/ukernels/elementwise/f32_elementwise.h"

namespace tern::cpu {

namespace {

inline __m256 Exp(__m256 x) {
  // Inputs beyond these bounds would over/underflow the 2^n scaling; the results there are
  // already 0 or huge.
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = x - n*ln2 in two pieces (ln2_hi has few mantissa bits, so n*ln2_hi is exact).
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 Sigmoid(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 r =
      _mm256_div_ps(one, _mm256_add_ps(one, Exp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
  return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN stays NaN
}

inline __m256 Tanh(__m256 x) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 ax = _mm256_andnot_ps(sign_mask, x);
  const __m256 one = _mm256_set1_ps(1.0f);
  // Large |x|: 1 - 2 / (exp(2|x|) + 1), sign restored.
  const __m256 e = Exp(_mm256_add_ps(ax, ax));
  __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  big = _mm256_or_ps(big, _mm256_and_ps(x, sign_mask));
  // Small |x|: x + x^3 * (-1/3 + x^2 * (2/15 + x^2 * (-17/315 + x^2 * 62/2835))).
  const __m256 x2 = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(62.0f / 2835.0f);
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-17.0f / 315.0f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(2.0f / 15.0f));
  p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.0f / 3.0f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, x2), x, x);
  const __m256 use_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.25f), _CMP_LT_OQ);
  __m256 r = _mm256_blendv_ps(big, small, use_small);
  // NaN in, NaN out (the comparisons above send NaN to the large-|x| branch, which would clamp).
  return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// Runs `step` (which maps 8 floats at an offset) over [0, n): 32 at a time, then 8, then the
// tail through a stack buffer.
template <typename Step>
inline void ForEachVector(size_t n, Step step) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    step(i);
    step(i + 8);
    step(i + 16);
    step(i + 24);
  }
  for (; i + 8 <= n; i += 8) step(i);
}

template <typename Fn>
inline void Map(size_t n, const float* x, float* y, Fn fn) {
  ForEachVector(n, [&](size_t i) { _mm256_storeu_ps(y + i, fn(_mm256_loadu_ps(x + i))); });
  const size_t done = n & ~size_t{7};
  if (done == n) return;
  alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::memcpy(buf, x + done, (n - done) * sizeof(float));
  _mm256_store_ps(buf, fn(_mm256_load_ps(buf)));
  std::memcpy(y + done, buf, (n - done) * sizeof(float));
}

template <BinaryOp Op>
inline __m256 Apply(__m256 a, __m256 b) {
  if constexpr (Op == BinaryOp::kAdd) return _mm256_add_ps(a, b);
  if constexpr (Op == BinaryOp::kSub) return _mm256_sub_ps(a, b);
  if constexpr (Op == BinaryOp::kMul) return _mm256_mul_ps(a, b);
  if constexpr (Op == BinaryOp::kDiv) return _mm256_div_ps(a, b);
  // max_ps(a, b) answers b when either is NaN, which covers a NaN b; a NaN a is blended back.
  if constexpr (Op == BinaryOp::kMax)
    return _mm256_blendv_ps(_mm256_max_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
  if constexpr (Op == BinaryOp::kMin)
    return _mm256_blendv_ps(_mm256_min_ps(a, b), a, _mm256_cmp_ps(a, a, _CMP_UNORD_Q));
}

// The binary kernels of one op (a template of a class, so that the table can be built
// generically).
template <BinaryOp Op>
struct Binary {
  static void VV(size_t n, const float* a, const float* b, float* y) {
    ForEachVector(n, [&](size_t i) {
      _mm256_storeu_ps(y + i, Apply<Op>(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    });
    for (size_t i = n & ~size_t{7}; i < n; ++i)
      _mm_store_ss(y + i,
                   _mm256_castps256_ps128(Apply<Op>(_mm256_set1_ps(a[i]), _mm256_set1_ps(b[i]))));
  }

  static void VS(size_t n, const float* a, float b, float* y) {
    const __m256 vb = _mm256_set1_ps(b);
    Map(n, a, y, [&](__m256 v) { return Apply<Op>(v, vb); });
  }

  static void SV(size_t n, const float* a, float b, float* y) {
    const __m256 vb = _mm256_set1_ps(b);
    Map(n, a, y, [&](__m256 v) { return Apply<Op>(vb, v); });
  }
};

void ActivationAvx2(size_t n, const float* x, float* y, const ActivationParams& p) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 alpha = _mm256_set1_ps(p.alpha), beta = _mm256_set1_ps(p.beta);
  switch (p.act) {
    case Activation::kNone:
      if (x != y) std::memmove(y, x, n * sizeof(float));
      break;
    case Activation::kRelu:  // max_ps(0, v) keeps a NaN v
      Map(n, x, y, [&](__m256 v) { return _mm256_max_ps(zero, v); });
      break;
    case Activation::kClip:
      Map(n, x, y, [&](__m256 v) { return _mm256_min_ps(beta, _mm256_max_ps(alpha, v)); });
      break;
    case Activation::kLeakyRelu:
      Map(n, x, y, [&](__m256 v) { return _mm256_blendv_ps(v, _mm256_mul_ps(alpha, v), v); });
      break;
    case Activation::kSigmoid:
      Map(n, x, y, [&](__m256 v) { return Sigmoid(v); });
      break;
    case Activation::kHardSigmoid:
      Map(n, x, y, [&](__m256 v) {
        return _mm256_max_ps(zero, _mm256_min_ps(one, _mm256_fmadd_ps(alpha, v, beta)));
      });
      break;
    case Activation::kHardSwish: {
      const __m256 sixth = _mm256_set1_ps(1.0f / 6.0f), half = _mm256_set1_ps(0.5f);
      Map(n, x, y, [&](__m256 v) {
        const __m256 h = _mm256_max_ps(zero, _mm256_min_ps(one, _mm256_fmadd_ps(v, sixth, half)));
        return _mm256_mul_ps(v, h);
      });
      break;
    }
    case Activation::kTanh:
      Map(n, x, y, [&](__m256 v) { return Tanh(v); });
      break;
  }
}

void AffineAvx2(size_t n, const float* x, float scale, float shift, float* y) {
  const __m256 s = _mm256_set1_ps(scale), t = _mm256_set1_ps(shift);
  Map(n, x, y, [&](__m256 v) { return _mm256_fmadd_ps(v, s, t); });
}

inline float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

float SumAvx2(size_t n, const float* x) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (size_t u = 0; u < 4; ++u) acc[u] = _mm256_add_ps(acc[u], _mm256_loadu_ps(x + i + 8 * u));
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_add_ps(acc[0], _mm256_loadu_ps(x + i));
  float s =
      HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s += x[i];
  return s;
}

float MaxAvx2(size_t n, const float* x) {
  __m256 m = _mm256_set1_ps(-__builtin_inff());
  __m256 nan = _mm256_setzero_ps();  // lanes that saw a NaN
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    m = _mm256_max_ps(m, v);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, m);
  float r = lanes[0];
  for (int l = 1; l < 8; ++l) r = lanes[l] > r ? lanes[l] : r;
  for (; i < n; ++i) {
    if (x[i] != x[i]) return x[i];
    r = x[i] > r ? x[i] : r;
  }
  return _mm256_movemask_ps(nan) != 0 ? __builtin_nanf("") : r;
}

}  // namespace

const F32ElementwiseUkernels& F32ElementwiseUkernelsAvx2() {
  static const F32ElementwiseUkernels k = MakeF32ElementwiseUkernels<Binary>(
      "avx2", Isa::kAvx2, ActivationAvx2, AffineAvx2, SumAvx2, MaxAvx2);
  return k;
}

}  // namespace tern::cpu
