// AVX-512 VNNI: one 16-lane register holds a whole B pair row, so each row needs one vpdpwssd per
// k pair (not run on the development machine, which has no AVX-512).
#include <immintrin.h>

#include "ep/cpu/ukernels/qgemm/s16_gemm.h"

namespace tern::cpu {

void s16_gemm_4x16__avx512vnni(size_t mr, size_t nc, size_t kpairs, const int16_t* a, size_t lda,
                               const int16_t* b_panel, int32_t* c, size_t ldc) {
  __m512i acc[4];
  for (auto& r : acc) r = _mm512_setzero_si512();
  const int16_t* rows[4];
  for (size_t i = 0; i < 4; ++i) rows[i] = a + (i < mr ? i : mr - 1) * lda;
  for (size_t p = 0; p < kpairs; ++p) {
    const __m512i b = _mm512_loadu_si512(b_panel);
    b_panel += 32;
    for (size_t i = 0; i < 4; ++i) {
      int32_t pair;
      __builtin_memcpy(&pair, rows[i] + 2 * p, sizeof(pair));
      acc[i] = _mm512_dpwssd_epi32(acc[i], _mm512_set1_epi32(pair), b);
    }
  }
  const __mmask16 mask = static_cast<__mmask16>((1u << nc) - 1);
  for (size_t i = 0; i < mr; ++i) _mm512_mask_storeu_epi32(c + i * ldc, mask, acc[i]);
}

}  // namespace tern::cpu
