#include "core/cpu_features.h"
#include "ep/cpu/ukernels/qgemm/s16_pack.h"

namespace tern::cpu {

namespace {

void Widen(const void* src, bool is_signed, size_t n, int32_t zero, int16_t* dst) {
  if (is_signed) {
    const auto* s = static_cast<const int8_t*>(src);
    for (size_t j = 0; j < n; ++j) dst[j] = static_cast<int16_t>(s[j] - zero);
  } else {
    const auto* s = static_cast<const uint8_t*>(src);
    for (size_t j = 0; j < n; ++j) dst[j] = static_cast<int16_t>(s[j] - zero);
  }
}

void Interleave16(const int16_t* r0, const int16_t* r1, int16_t* dst) {
  for (size_t j = 0; j < 16; ++j) {
    dst[2 * j] = r0[j];
    dst[2 * j + 1] = r1[j];
  }
}

void PackPairs16(const void* r0, const void* r1, bool is_signed, int32_t zero, int16_t* dst) {
  int16_t a[16], b[16];
  Widen(r0, is_signed, 16, zero, a);
  Widen(r1, is_signed, 16, zero, b);
  Interleave16(a, b, dst);
}

void Mac(const int16_t* src, size_t n, int32_t w, int32_t* acc) {
  for (size_t j = 0; j < n; ++j) acc[j] += src[j] * w;
}

void MacRows(const int16_t* src, size_t src_stride, size_t rows, size_t n, int32_t w, int32_t* acc,
             size_t acc_stride) {
  for (size_t r = 0; r < rows; ++r) Mac(src + r * src_stride, n, w, acc + r * acc_stride);
}

}  // namespace

const S16PackUkernels kS16PackScalar = {Widen, Interleave16, PackPairs16, Mac, MacRows};

const S16PackUkernels& BestS16PackUkernels() {
#if defined(__x86_64__)
  static const S16PackUkernels& best = BestIsa() != Isa::kScalar ? kS16PackAvx2 : kS16PackScalar;
  return best;
#else
  return kS16PackScalar;
#endif
}

}  // namespace tern::cpu
