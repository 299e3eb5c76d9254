// 8x32 f32 GEMM microkernel for AVX-512F: 16 zmm accumulators; edge columns use masked stores.
// Compiled with -mavx512f; only called when the CPU has AVX-512.
#include <immintrin.h>

#include "ep/cpu/ukernels/gemm/f32_gemm.h"

namespace tern::cpu {

namespace {

// kIndirect false: B is a packed panel (row k at b + k*32); true: row k is at b + koff[k].
template <bool kIndirect>
inline void Kernel(size_t kc, const float* a, const float* b, const ptrdiff_t* koff, float* c,
                   size_t ldc, size_t m, size_t n, bool accumulate) {
  constexpr size_t MR = 8;
  __m512 acc[MR][2];
  for (size_t i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (size_t k = 0; k < kc; ++k) {
    const float* bk = kIndirect ? b + koff[k] : b;
    const __m512 b0 = _mm512_loadu_ps(bk);
    const __m512 b1 = _mm512_loadu_ps(bk + 16);
    for (size_t i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += MR;
    if (!kIndirect) b += 32;
  }
  const __mmask16 m0 = n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
  const __mmask16 m1 = n >= 32   ? __mmask16(0xffff)
                       : n <= 16 ? __mmask16(0)
                                 : __mmask16((1u << (n - 16)) - 1);
  for (size_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    __m512 r0 = acc[i][0], r1 = acc[i][1];
    if (accumulate) {
      r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, ci));
      r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, ci + 16));
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

}  // namespace

void f32_gemm_8x32__avx512f(size_t kc, const float* a, const float* b, float* c, size_t ldc,
                            size_t m, size_t n, bool accumulate) {
  Kernel<false>(kc, a, b, nullptr, c, ldc, m, n, accumulate);
}

void f32_gemm_8x32__avx512f_indirect(size_t kc, const float* a, const float* b,
                                     const ptrdiff_t* koff, float* c, size_t ldc, size_t m,
                                     size_t n, bool accumulate) {
  Kernel<true>(kc, a, b, koff, c, ldc, m, n, accumulate);
}

}  // namespace tern::cpu
