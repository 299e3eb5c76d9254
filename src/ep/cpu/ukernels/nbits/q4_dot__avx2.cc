// AVX2+FMA: 16 codes (8 bytes) per step. The low and high nibbles are split with a mask and a
// shift, interleaved back into k order, widened to 32-bit lanes and converted to float, then
// multiplied into two accumulators. The tail (count not a multiple of 16) goes through the scalar
// variant.
#include <immintrin.h>

#include "ep/cpu/ukernels/nbits/q4_dot.h"

namespace tern::cpu {

float q4_dot__avx2(const uint8_t* codes, const float* a, size_t count) {
  const __m128i mask = _mm_set1_epi8(0x0F);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  size_t k = 0;
  for (; k + 16 <= count; k += 16) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + k / 2));
    const __m128i lo = _mm_and_si128(bytes, mask);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
    const __m128i ordered = _mm_unpacklo_epi8(lo, hi);  // code k, k+1, ... k+15
    const __m256 c0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(ordered));
    const __m256 c1 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(ordered, 8)));
    acc0 = _mm256_fmadd_ps(c0, _mm256_loadu_ps(a + k), acc0);
    acc1 = _mm256_fmadd_ps(c1, _mm256_loadu_ps(a + k + 8), acc1);
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s) + q4_dot__scalar(codes + k / 2, a + k, count - k);
}

}  // namespace tern::cpu
