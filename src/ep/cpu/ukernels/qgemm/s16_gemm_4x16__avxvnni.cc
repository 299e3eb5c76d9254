// AVX-VNNI: the AVX2 kernel with vpmaddwd + vpaddd fused into vpdpwssd (not run on the
// development machine, which has no VNNI; tested where the CPU has it).
#include <immintrin.h>

#include "ep/cpu/ukernels/qgemm/s16_gemm.h"

namespace tern::cpu {

void s16_gemm_4x16__avxvnni(size_t mr, size_t nc, size_t kpairs, const int16_t* a, size_t lda,
                            const int16_t* b_panel, int32_t* c, size_t ldc) {
  __m256i acc[4][2];
  for (auto& r : acc) r[0] = r[1] = _mm256_setzero_si256();
  const int16_t* rows[4];
  for (size_t i = 0; i < 4; ++i) rows[i] = a + (i < mr ? i : mr - 1) * lda;
  for (size_t p = 0; p < kpairs; ++p) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b_panel));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b_panel + 16));
    b_panel += 32;
    for (size_t i = 0; i < 4; ++i) {
      int32_t pair;
      __builtin_memcpy(&pair, rows[i] + 2 * p, sizeof(pair));
      const __m256i x = _mm256_set1_epi32(pair);
      acc[i][0] = _mm256_dpwssd_avx_epi32(acc[i][0], x, b0);
      acc[i][1] = _mm256_dpwssd_avx_epi32(acc[i][1], x, b1);
    }
  }
  for (size_t i = 0; i < mr; ++i) {
    alignas(32) int32_t tmp[kS16GemmNr];
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), acc[i][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 8), acc[i][1]);
    for (size_t j = 0; j < nc; ++j) c[i * ldc + j] = tmp[j];
  }
}

}  // namespace tern::cpu
