// Recurrent microkernels for AVX2+FMA. gemv keeps 16 outputs of up to 4 rows in registers while
// it streams the k rows of the transposed weights (each weight load feeds one FMA per row), then
// 8 at a time, then a scalar tail. The LSTM cell evaluates exp with a Cephes-style range reduction and
// degree-6 polynomial (about 1 ulp); tanh uses an odd polynomial near 0, where 1 - 2/(e^2x + 1)
// would lose digits to cancellation. Compiled with -mavx2 -mfma; only called when the CPU has them.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "ep/cpu/ukernels/rnn/f32_rnn.h"

namespace tern::cpu {

namespace {

// R rows (1..4) of the product: per k, each weight vector is loaded once and feeds R FMAs.
template <size_t R>
void GemvRows(const float* x, size_t ldx, const float* wt, size_t ldw, size_t k, size_t n, float* y,
              size_t ldy) {
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    __m256 lo[R], hi[R];
    for (size_t r = 0; r < R; ++r) {
      lo[r] = _mm256_loadu_ps(y + r * ldy + j);
      hi[r] = _mm256_loadu_ps(y + r * ldy + j + 8);
    }
    const float* w = wt + j;
    for (size_t kk = 0; kk < k; ++kk, w += ldw) {
      const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
      for (size_t r = 0; r < R; ++r) {
        const __m256 xv = _mm256_broadcast_ss(x + r * ldx + kk);
        lo[r] = _mm256_fmadd_ps(xv, w0, lo[r]);
        hi[r] = _mm256_fmadd_ps(xv, w1, hi[r]);
      }
    }
    for (size_t r = 0; r < R; ++r) {
      _mm256_storeu_ps(y + r * ldy + j, lo[r]);
      _mm256_storeu_ps(y + r * ldy + j + 8, hi[r]);
    }
  }
  for (; j + 8 <= n; j += 8) {
    __m256 acc[R];
    for (size_t r = 0; r < R; ++r) acc[r] = _mm256_loadu_ps(y + r * ldy + j);
    const float* w = wt + j;
    for (size_t kk = 0; kk < k; ++kk, w += ldw) {
      const __m256 w0 = _mm256_loadu_ps(w);
      for (size_t r = 0; r < R; ++r)
        acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(x + r * ldx + kk), w0, acc[r]);
    }
    for (size_t r = 0; r < R; ++r) _mm256_storeu_ps(y + r * ldy + j, acc[r]);
  }
  if (j < n) {
    for (size_t r = 0; r < R; ++r)
      for (size_t kk = 0; kk < k; ++kk) {
        const float xv = x[r * ldx + kk];
        const float* row = wt + kk * ldw;
        for (size_t jj = j; jj < n; ++jj) y[r * ldy + jj] += xv * row[jj];
      }
  }
}

}  // namespace

void f32_gemv__avx2(size_t rows, const float* x, size_t ldx, const float* wt, size_t k, size_t n,
                    float* y, size_t ldy) {
  // Column blocks of kNc: with more than 4 rows, every group of 4 rows streams the same block of
  // weights, which then comes from L2 instead of memory.
  constexpr size_t kNc = 64;
  for (size_t j0 = 0; j0 < n; j0 += kNc) {
    const size_t nc = n - j0 < kNc ? n - j0 : kNc;
    const float* xr = x;
    float* yr = y + j0;
    size_t left = rows;
    for (; left >= 4; left -= 4, xr += 4 * ldx, yr += 4 * ldy)
      GemvRows<4>(xr, ldx, wt + j0, n, k, nc, yr, ldy);
    switch (left) {
      case 3: GemvRows<3>(xr, ldx, wt + j0, n, k, nc, yr, ldy); break;
      case 2: GemvRows<2>(xr, ldx, wt + j0, n, k, nc, yr, ldy); break;
      case 1: GemvRows<1>(xr, ldx, wt + j0, n, k, nc, yr, ldy); break;
      default: break;
    }
  }
}

namespace {

inline __m256 Exp(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3762626647949f));
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(
      _mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

inline __m256 Sigmoid(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  return _mm256_div_ps(one, _mm256_add_ps(one, Exp(_mm256_sub_ps(_mm256_setzero_ps(), x))));
}

inline __m256 Tanh(__m256 x) {
  const __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f));
  const __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
  // |x| >= 0.625: 1 - 2 / (e^(2|x|) + 1), with the sign put back.
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 e = Exp(_mm256_add_ps(ax, ax));
  const __m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  // |x| < 0.625: x + x^3 P(x^2) (Cephes tanhf).
  const __m256 z = _mm256_mul_ps(ax, ax);
  __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), ax, ax);
  const __m256 use_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
  return _mm256_or_ps(_mm256_blendv_ps(big, small, use_small), sign);
}

inline __m256 Clip(__m256 x, __m256 lo, __m256 hi) { return _mm256_min_ps(_mm256_max_ps(x, lo), hi); }

}  // namespace

void f32_lstm_cell__avx2(const LstmCellArgs& a) {
  const size_t H = a.hidden;
  const float* gi = a.gates;
  const float* go = a.gates + H;
  const float* gf = a.gates + 2 * H;
  const float* gc = a.gates + 3 * H;
  const bool clip = a.clip > 0;
  const __m256 lo = _mm256_set1_ps(-a.clip), hi = _mm256_set1_ps(a.clip);
  size_t j = 0;
  for (; j + 8 <= H; j += 8) {
    const __m256 c_prev = _mm256_loadu_ps(a.c + j);
    __m256 i = _mm256_loadu_ps(gi + j), f = _mm256_loadu_ps(gf + j);
    __m256 o = _mm256_loadu_ps(go + j), g = _mm256_loadu_ps(gc + j);
    if (a.peephole) {
      i = _mm256_fmadd_ps(_mm256_loadu_ps(a.peephole + j), c_prev, i);
      f = _mm256_fmadd_ps(_mm256_loadu_ps(a.peephole + 2 * H + j), c_prev, f);
    }
    if (clip) {
      i = Clip(i, lo, hi);
      f = Clip(f, lo, hi);
      g = Clip(g, lo, hi);
    }
    i = Sigmoid(i);
    f = Sigmoid(f);
    g = Tanh(g);
    const __m256 c_new = _mm256_fmadd_ps(f, c_prev, _mm256_mul_ps(i, g));
    if (a.peephole) o = _mm256_fmadd_ps(_mm256_loadu_ps(a.peephole + H + j), c_new, o);
    if (clip) o = Clip(o, lo, hi);
    o = Sigmoid(o);
    _mm256_storeu_ps(a.c + j, c_new);
    _mm256_storeu_ps(a.h + j, _mm256_mul_ps(o, Tanh(c_new)));
  }
  if (j < H) {
    // The tail runs the scalar kernel on the last H - j units, with every pointer shifted.
    float gates_tail[4 * 8];
    float peep_tail[3 * 8];
    const size_t r = H - j;
    for (size_t q = 0; q < 4; ++q) std::copy(a.gates + q * H + j, a.gates + q * H + H, gates_tail + q * r);
    if (a.peephole)
      for (size_t q = 0; q < 3; ++q)
        std::copy(a.peephole + q * H + j, a.peephole + q * H + H, peep_tail + q * r);
    LstmCellArgs t = a;
    t.gates = gates_tail;
    t.peephole = a.peephole ? peep_tail : nullptr;
    t.c = a.c + j;
    t.h = a.h + j;
    t.hidden = r;
    f32_lstm_cell__scalar(t);
  }
}

}  // namespace tern::cpu
