// AVX2 variants of the int8 convolution helpers: 16 values per step, scalar tails.
#include <immintrin.h>

#include "ep/cpu/ukernels/qgemm/s16_pack.h"

namespace tern::cpu {

namespace {

void Widen(const void* src, bool is_signed, size_t n, int32_t zero, int16_t* dst) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zero));
  const auto* s = static_cast<const uint8_t*>(src);
  size_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + j));
    const __m256i w = is_signed ? _mm256_cvtepi8_epi16(b) : _mm256_cvtepu8_epi16(b);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + j), _mm256_sub_epi16(w, z));
  }
  kS16PackScalar.widen(s + j, is_signed, n - j, zero, dst + j);
}

void Interleave16(const int16_t* r0, const int16_t* r1, int16_t* dst) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1));
  // unpack works within 128-bit halves: lo = pairs 0-3 | 8-11, hi = pairs 4-7 | 12-15.
  const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permute2x128_si256(lo, hi, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16),
                      _mm256_permute2x128_si256(lo, hi, 0x31));
}

void PackPairs16(const void* r0, const void* r1, bool is_signed, int32_t zero, int16_t* dst) {
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(zero));
  const __m128i x0 = _mm_loadu_si128(static_cast<const __m128i*>(r0));
  const __m128i x1 = _mm_loadu_si128(static_cast<const __m128i*>(r1));
  const __m256i a =
      _mm256_sub_epi16(is_signed ? _mm256_cvtepi8_epi16(x0) : _mm256_cvtepu8_epi16(x0), z);
  const __m256i b =
      _mm256_sub_epi16(is_signed ? _mm256_cvtepi8_epi16(x1) : _mm256_cvtepu8_epi16(x1), z);
  const __m256i lo = _mm256_unpacklo_epi16(a, b), hi = _mm256_unpackhi_epi16(a, b);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permute2x128_si256(lo, hi, 0x20));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + 16),
                      _mm256_permute2x128_si256(lo, hi, 0x31));
}

void Mac(const int16_t* src, size_t n, int32_t w, int32_t* acc) {
  // (src, 0) pairs times (w, 0) pairs: vpmaddwd gives the exact int32 products.
  const __m256i wv = _mm256_set1_epi32(w & 0xFFFF);
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256i x =
        _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + j)));
    __m256i* out = reinterpret_cast<__m256i*>(acc + j);
    _mm256_storeu_si256(out, _mm256_add_epi32(_mm256_loadu_si256(out), _mm256_madd_epi16(x, wv)));
  }
  kS16PackScalar.mac(src + j, n - j, w, acc + j);
}

void MacRows(const int16_t* src, size_t src_stride, size_t rows, size_t n, int32_t w, int32_t* acc,
             size_t acc_stride) {
  for (size_t r = 0; r < rows; ++r) Mac(src + r * src_stride, n, w, acc + r * acc_stride);
}

}  // namespace

const S16PackUkernels kS16PackAvx2 = {Widen, Interleave16, PackPairs16, Mac, MacRows};

}  // namespace tern::cpu
