// Helpers of the int8 convolution around the s16 GEMM (s16_gemm.h): widening 8-bit rows to int16
// minus the zero point, interleaving two int16 rows into the k-pair layout of a B panel, and the
// depthwise multiply-accumulate of one row. Per-ISA variants picked at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern::cpu {

struct S16PackUkernels {
  /// dst[j] = src[j] - zero for j < n (src uint8 or int8 as `is_signed` says).
  void (*widen)(const void* src, bool is_signed, size_t n, int32_t zero, int16_t* dst);
  /// One panel's k pair: dst[2j] = r0[j], dst[2j + 1] = r1[j] for j < 16.
  void (*interleave16)(const int16_t* r0, const int16_t* r1, int16_t* dst);
  /// widen + interleave16 in one step, for two 8-bit rows of 16 values.
  void (*pack_pairs16)(const void* r0, const void* r1, bool is_signed, int32_t zero, int16_t* dst);
  /// acc[j] += src[j] * w for j < n (src already widened, zero point removed).
  void (*mac)(const int16_t* src, size_t n, int32_t w, int32_t* acc);
  /// mac over `rows` rows: row r reads src + r * src_stride and adds into acc + r * acc_stride.
  void (*mac_rows)(const int16_t* src, size_t src_stride, size_t rows, size_t n, int32_t w,
                   int32_t* acc, size_t acc_stride);
};

extern const S16PackUkernels kS16PackScalar;
extern const S16PackUkernels kS16PackAvx2;

/// The best variant for this CPU (respects TERN_ISA).
const S16PackUkernels& BestS16PackUkernels();

}  // namespace tern::cpu
