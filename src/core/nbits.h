// Block-wise 4-bit weights in the layout of ONNX Runtime's com.microsoft MatMulNBits (bits = 4),
// shared by the quantizer (src/compress/) and the kernels (ref and cpu):
//
//   Y[..., n] = sum_k A[..., k] * W[n, k],   W[n, k] = (q[n, k] - zp[n, k / block]) * scale[n, k /
//   block]
//
//  - B: uint8 [N, blocks_per_col, block_size / 2]; column n's K codes are stored in K order, two
//    per byte, the even k in the low nibble. The last block of a column is padded when block_size
//    does not divide K (the padding is never read as a weight).
//  - scales: [N * blocks_per_col], column-major by block (all blocks of column 0 first).
//  - zero points: absent (every zero point is 8), or uint8 packed two per byte, low nibble first,
//    each column starting on a byte boundary: [N * ceil(blocks_per_col / 2)].
#pragma once

#include <cstdint>

#include "tern/status.h"
#include "tern/tensor.h"

namespace tern::nbits {

/// Geometry of one MatMulNBits weight (4 bits per code).
struct Int4Layout {
  int64_t k = 0;            ///< reduction size (rows of the logical K x N weight)
  int64_t n = 0;            ///< output columns
  int64_t block_size = 32;  ///< codes per scale; a power of two >= 16

  int64_t blocks_per_col() const { return (k + block_size - 1) / block_size; }
  int64_t blob_size() const { return block_size / 2; }  ///< bytes per block
  int64_t col_bytes() const { return blocks_per_col() * blob_size(); }
  int64_t zp_bytes_per_col() const { return (blocks_per_col() + 1) / 2; }
};

/// The layout of a MatMulNBits node's attributes; InvalidArgument unless bits is 4, block_size
/// a power of two >= 16 and K, N positive.
Result<Int4Layout> MakeLayout(int64_t k, int64_t n, int64_t bits, int64_t block_size);

/// Checks B (uint8 [N, blocks, blob]), scales (float32, N * blocks elements) and the optional
/// packed zero points (uint8, N * zp_bytes_per_col() elements) against the layout.
Status CheckInputs(const Int4Layout& layout, const Tensor& b, const Tensor& scales,
                   const Tensor* zero_points);

/// The default zero point when a model gives none: 2^(bits-1).
inline constexpr int kDefaultZeroPoint = 8;

/// The 4-bit code of element k of a column's packed bytes.
inline int Code(const uint8_t* col, int64_t k) {
  const uint8_t byte = col[k >> 1];
  return (k & 1) ? byte >> 4 : byte & 0x0F;
}

/// The zero point of block `b` of a column (packed zero points, or the default when null).
inline int ZeroPoint(const uint8_t* col_zero_points, int64_t b) {
  return col_zero_points ? Code(col_zero_points, b) : kDefaultZeroPoint;
}

/// Dequantizes column `n` (its K weights) into out[0..K). `zero_points` may be null.
void DequantizeColumn(const Int4Layout& layout, const uint8_t* b, const float* scales,
                      const uint8_t* zero_points, int64_t n, float* out);

/// Quantizes one column of K float weights into its packed codes (col_bytes() bytes), its
/// scales (blocks_per_col()) and, when `zero_points` is non-null, its packed zero points
/// (zp_bytes_per_col() bytes). Symmetric: zero point 8 and scale = v / -8 for the value v of
/// largest magnitude, so that value is exact and codes span [-8, 7] around it. Asymmetric: the
/// block's range, widened to contain 0, is split into 15 steps with a rounded zero point.
void QuantizeColumn(const Int4Layout& layout, const float* w, bool symmetric, uint8_t* codes,
                    float* scales, uint8_t* zero_points);

}  // namespace tern::nbits
