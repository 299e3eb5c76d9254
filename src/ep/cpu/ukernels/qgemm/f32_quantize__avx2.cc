// AVX2: 8 values per step: divide, clamp to the zero-shifted output range (NaN lanes are masked
// to 0 at the end), round half to even with the 1.5 * 2^23 trick, add the zero point and narrow
// with packs (the values are already in range, so packing does not saturate).
#include <immintrin.h>

#include "ep/cpu/ukernels/qgemm/f32_quantize.h"

namespace tern::cpu {

void f32_quantize__avx2(const float* x, size_t n, float scale, int32_t zero, bool is_signed,
                        void* out) {
  const __m256 vs = _mm256_set1_ps(scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>((is_signed ? -128 : 0) - zero));
  const __m256 hi = _mm256_set1_ps(static_cast<float>((is_signed ? 127 : 255) - zero));
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  const __m256i vz = _mm256_set1_epi32(zero);
  auto* y = static_cast<uint8_t*>(out);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 q = _mm256_div_ps(_mm256_loadu_ps(x + i), vs);
    const __m256i ordered = _mm256_castps_si256(_mm256_cmp_ps(q, q, _CMP_ORD_Q));
    q = _mm256_min_ps(_mm256_max_ps(q, lo), hi);
    q = _mm256_sub_ps(_mm256_add_ps(q, magic), magic);
    const __m256i v = _mm256_and_si256(_mm256_add_epi32(_mm256_cvtps_epi32(q), vz), ordered);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i b = is_signed ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w);
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), b);
  }
  f32_quantize__scalar(x + i, n - i, scale, zero, is_signed, y + i);
}

}  // namespace tern::cpu
