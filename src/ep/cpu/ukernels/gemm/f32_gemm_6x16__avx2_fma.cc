// 6x16 f32 GEMM microkernel for AVX2+FMA: 12 ymm accumulators, two B vectors and one broadcast
// per k step. Compiled with -mavx2 -mfma; only called when the CPU has them.
// The accumulators are named variables, not an array: with an array indexed again after the loop
// GCC keeps it on the stack and stores all 12 accumulators every k step, which halves the speed.
#include <immintrin.h>

#include "ep/cpu/ukernels/gemm/f32_gemm.h"

namespace tern::cpu {

namespace {

// kIndirect false: B is a packed panel (row k at b + k*NR); true: row k is at b + koff[k].
template <bool kIndirect>
inline void Kernel(size_t kc, const float* a, const float* b, const ptrdiff_t* koff, float* c,
                   size_t ldc, size_t m, size_t n, bool accumulate) {
  constexpr size_t MR = 6, NR = 16;
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (size_t k = 0; k < kc; ++k) {
    const float* bk = kIndirect ? b + koff[k] : b;
    const __m256 b0 = _mm256_loadu_ps(bk);
    const __m256 b1 = _mm256_loadu_ps(bk + 8);
    __m256 ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00);
    c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10);
    c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20);
    c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30);
    c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40);
    c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50);
    c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += MR;
    if (!kIndirect) b += NR;
  }
  const __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                              {c30, c31}, {c40, c41}, {c50, c51}};
  if (m == MR && n == NR) {
    for (size_t i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      __m256 r0 = rows[i][0], r1 = rows[i][1];
      if (accumulate) {
        r0 = _mm256_add_ps(r0, _mm256_loadu_ps(ci));
        r1 = _mm256_add_ps(r1, _mm256_loadu_ps(ci + 8));
      }
      _mm256_storeu_ps(ci, r0);
      _mm256_storeu_ps(ci + 8, r1);
    }
    return;
  }
  alignas(32) float tile[MR][NR];
  for (size_t i = 0; i < MR; ++i) {
    _mm256_store_ps(tile[i], rows[i][0]);
    _mm256_store_ps(tile[i] + 8, rows[i][1]);
  }
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j)
      c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + tile[i][j];
}

}  // namespace

void f32_gemm_6x16__avx2_fma(size_t kc, const float* a, const float* b, float* c, size_t ldc,
                             size_t m, size_t n, bool accumulate) {
  Kernel<false>(kc, a, b, nullptr, c, ldc, m, n, accumulate);
}

void f32_gemm_6x16__avx2_fma_indirect(size_t kc, const float* a, const float* b,
                                      const ptrdiff_t* koff, float* c, size_t ldc, size_t m,
                                      size_t n, bool accumulate) {
  Kernel<true>(kc, a, b, koff, c, ldc, m, n, accumulate);
}

}  // namespace tern::cpu
