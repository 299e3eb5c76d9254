// AVX2: per k pair, two 8-lane loads of the B panel and one broadcast pair per row feed
// vpmaddwd (exact int16 pair products summed into int32) and vpaddd into 8 accumulators.
#include <immintrin.h>

#include "ep/cpu/ukernels/qgemm/s16_gemm.h"

namespace tern::cpu {

namespace {

int32_t LoadPair(const int16_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

}  // namespace

void s16_gemm_4x16__avx2(size_t mr, size_t nc, size_t kpairs, const int16_t* a, size_t lda,
                         const int16_t* b_panel, int32_t* c, size_t ldc) {
  // Rows past mr repeat the last row (their results are dropped) so the loop has no branches.
  const int16_t* a0 = a;
  const int16_t* a1 = mr > 1 ? a + lda : a0;
  const int16_t* a2 = mr > 2 ? a + 2 * lda : a1;
  const int16_t* a3 = mr > 3 ? a + 3 * lda : a2;
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
          c30 = c00, c31 = c00;
  for (size_t p = 0; p < kpairs; ++p) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b_panel));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b_panel + 16));
    b_panel += 32;
    __m256i x = _mm256_set1_epi32(LoadPair(a0 + 2 * p));
    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(x, b0));
    c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(x, b1));
    x = _mm256_set1_epi32(LoadPair(a1 + 2 * p));
    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(x, b0));
    c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(x, b1));
    x = _mm256_set1_epi32(LoadPair(a2 + 2 * p));
    c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(x, b0));
    c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(x, b1));
    x = _mm256_set1_epi32(LoadPair(a3 + 2 * p));
    c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(x, b0));
    c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(x, b1));
  }
  const __m256i rows[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
  for (size_t i = 0; i < mr; ++i) {
    int32_t* out = c + i * ldc;
    if (nc == kS16GemmNr) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), rows[i][0]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8), rows[i][1]);
    } else {
      alignas(32) int32_t tmp[kS16GemmNr];
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), rows[i][0]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(tmp + 8), rows[i][1]);
      for (size_t j = 0; j < nc; ++j) out[j] = tmp[j];
    }
  }
}

}  // namespace tern::cpu
