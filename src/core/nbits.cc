#include "core/nbits.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace tern::nbits {

Result<Int4Layout> MakeLayout(int64_t k, int64_t n, int64_t bits, int64_t block_size) {
  if (bits != 4) return NotImplemented("bits=" + std::to_string(bits) + " (only 4 is supported)");
  if (block_size < 16 || (block_size & (block_size - 1)) != 0)
    return InvalidArgument("block_size " + std::to_string(block_size) +
                           " must be a power of two >= 16");
  // The bound keeps every size product (N * blocks * blob) far from int64 overflow.
  constexpr int64_t kMaxDim = int64_t{1} << 31;
  if (k <= 0 || n <= 0 || k > kMaxDim || n > kMaxDim || block_size > kMaxDim)
    return InvalidArgument("K and N must be in [1, 2^31] (K=" + std::to_string(k) +
                           ", N=" + std::to_string(n) + ")");
  Int4Layout l;
  l.k = k;
  l.n = n;
  l.block_size = block_size;
  return l;
}

Status CheckInputs(const Int4Layout& l, const Tensor& b, const Tensor& scales,
                   const Tensor* zero_points) {
  const Shape want_b{l.n, l.blocks_per_col(), l.blob_size()};
  if (b.dtype() != DataType::kUInt8 || b.shape() != want_b)
    return InvalidArgument("B must be uint8 " + want_b.ToString() + ", not " +
                           DataTypeName(b.dtype()) + " " + b.shape().ToString());
  if (scales.dtype() != DataType::kFloat32 || scales.numel() != l.n * l.blocks_per_col())
    return InvalidArgument("scales must be float32 with N * blocks = " +
                           std::to_string(l.n * l.blocks_per_col()) + " elements");
  if (zero_points && (zero_points->dtype() != DataType::kUInt8 ||
                      zero_points->numel() != l.n * l.zp_bytes_per_col()))
    return NotImplemented("zero_points must be packed uint8 with " +
                          std::to_string(l.n * l.zp_bytes_per_col()) + " elements");
  return Status::Ok();
}

void DequantizeColumn(const Int4Layout& layout, const uint8_t* b, const float* scales,
                      const uint8_t* zero_points, int64_t n, float* out) {
  const int64_t blocks = layout.blocks_per_col();
  const uint8_t* col = b + n * layout.col_bytes();
  const float* col_scales = scales + n * blocks;
  const uint8_t* col_zp = zero_points ? zero_points + n * layout.zp_bytes_per_col() : nullptr;
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const float scale = col_scales[blk];
    const int zp = ZeroPoint(col_zp, blk);
    const int64_t k1 = std::min(layout.k, (blk + 1) * layout.block_size);
    for (int64_t k = blk * layout.block_size; k < k1; ++k)
      out[k] = static_cast<float>(Code(col, k) - zp) * scale;
  }
}

void QuantizeColumn(const Int4Layout& layout, const float* w, bool symmetric, uint8_t* codes,
                    float* scales, uint8_t* zero_points) {
  const int64_t blocks = layout.blocks_per_col();
  std::memset(codes, 0, static_cast<size_t>(layout.col_bytes()));
  if (zero_points) std::memset(zero_points, 0, static_cast<size_t>(layout.zp_bytes_per_col()));
  auto put = [](uint8_t* dst, int64_t i, int code) {
    dst[i >> 1] = static_cast<uint8_t>(dst[i >> 1] | (code << ((i & 1) * 4)));
  };
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t k0 = blk * layout.block_size;
    const int64_t k1 = std::min(layout.k, k0 + layout.block_size);
    float scale = 0;
    int zp = kDefaultZeroPoint;
    if (symmetric || !zero_points) {
      float extreme = 0;  // the value of largest magnitude, with its sign
      for (int64_t k = k0; k < k1; ++k)
        if (std::fabs(w[k]) > std::fabs(extreme)) extreme = w[k];
      scale = extreme / -8.0f;
    } else {
      float lo = 0, hi = 0;  // the range always contains 0, so 0 stays exact
      for (int64_t k = k0; k < k1; ++k) {
        lo = std::min(lo, w[k]);
        hi = std::max(hi, w[k]);
      }
      scale = (hi - lo) / 15.0f;
      if (scale != 0) zp = static_cast<int>(std::clamp(std::nearbyint(-lo / scale), 0.0f, 15.0f));
    }
    scales[blk] = scale;
    if (zero_points) put(zero_points, blk, zp);
    // Padding codes beyond K hold the zero point, so a reader that ignores K still sees zeros.
    for (int64_t k = k0; k < k0 + layout.block_size; ++k) {
      int code = zp;
      if (k < k1 && scale != 0)
        code = static_cast<int>(
            std::clamp(std::nearbyint(w[k] / scale) + static_cast<float>(zp), 0.0f, 15.0f));
      put(codes, k, code);
    }
  }
}

}  // namespace tern::nbits
