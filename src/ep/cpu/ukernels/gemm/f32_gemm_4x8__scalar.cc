// Portable 4x8 f32 GEMM microkernel; the fallback on every CPU.
#include "ep/cpu/ukernels/gemm/f32_gemm.h"

namespace tern::cpu {

namespace {

// koff null: B is a packed panel (row k at b + k*NR); else row k is at b + koff[k].
void Kernel(size_t kc, const float* a, const float* b, const ptrdiff_t* koff, float* c, size_t ldc,
            size_t m, size_t n, bool accumulate) {
  constexpr size_t MR = 4, NR = 8;
  float acc[MR][NR] = {};
  for (size_t k = 0; k < kc; ++k) {
    const float* ak = a + k * MR;
    const float* bk = koff ? b + koff[k] : b + k * NR;
    for (size_t i = 0; i < MR; ++i)
      for (size_t j = 0; j < NR; ++j) acc[i][j] += ak[i] * bk[j];
  }
  for (size_t i = 0; i < m; ++i)
    for (size_t j = 0; j < n; ++j)
      c[i * ldc + j] = (accumulate ? c[i * ldc + j] : 0.0f) + acc[i][j];
}

}  // namespace

void f32_gemm_4x8__scalar(size_t kc, const float* a, const float* b, float* c, size_t ldc, size_t m,
                          size_t n, bool accumulate) {
  Kernel(kc, a, b, nullptr, c, ldc, m, n, accumulate);
}

void f32_gemm_4x8__scalar_indirect(size_t kc, const float* a, const float* b, const ptrdiff_t* koff,
                                   float* c, size_t ldc, size_t m, size_t n, bool accumulate) {
  Kernel(kc, a, b, koff, c, ldc, m, n, accumulate);
}

}  // namespace tern::cpu
