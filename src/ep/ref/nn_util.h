// Shared helpers for the reference neural-network kernels (Conv, ConvTranspose, the pools,
// MaxUnpool, Gemm/MatMul, Resize, GridSample): window geometry, auto_pad, a plain GEMM, reading
// parameter tensors in the accumulation type, and cubic interpolation weights.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "ep/ref/ref_common.h"

namespace tern::ref::nn {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

/// The window attributes shared by Conv, ConvTranspose and the pools, as given in the model.
/// Empty vectors mean "not given" (defaults are filled in by ResolveWindow).
struct WindowAttrs {
  AutoPad auto_pad = AutoPad::kNotSet;
  std::vector<int64_t> kernel_shape;
  std::vector<int64_t> strides;
  std::vector<int64_t> dilations;
  std::vector<int64_t> pads;  ///< [begin..., end...]
  bool ceil_mode = false;
};

/// Parses auto_pad, kernel_shape, strides, dilations, pads (and ceil_mode when `with_ceil`)
/// and checks the values that can be checked without shapes (positive strides/dilations,
/// non-negative pads, positive kernel dims).
Status ParseWindowAttrs(const KernelInfo& info, bool with_ceil, WindowAttrs* a);

/// Concrete geometry of a window op on one input: per spatial dim.
struct Window {
  size_t nd = 0;
  std::vector<int64_t> kernel, strides, dilations;
  std::vector<int64_t> pad_begin, pad_end;
  std::vector<int64_t> in, out;  ///< spatial input and output dims
};

/// Resolves the window for a forward op (Conv or a pool) with spatial input dims `in` and the
/// kernel `kernel` (already checked against kernel_shape). Fails on inconsistent attribute sizes
/// or an empty output.
Status ResolveWindow(const WindowAttrs& a, const std::vector<int64_t>& in,
                     const std::vector<int64_t>& kernel, bool pool, Window* w);

/// Checked product of dims; ResourceExhausted on overflow.
Result<int64_t> CheckedProduct(const std::vector<int64_t>& dims);

/// Arithmetic type for products and sums of T: AccT<T> for floats; for integers uint64_t, whose
/// wrap-around is well defined (converted back, the low bits are the two's complement result).
template <typename T>
using MatAccT = std::conditional_t<std::is_integral_v<T>, uint64_t, AccT<T>>;

/// A float attribute (alpha, beta) in MatAccT<T>: truncated and clamped for integer types.
template <typename A>
A ScalarAttr(float v) {
  if constexpr (std::is_integral_v<A>) {
    const double c = std::isfinite(v) ? std::clamp(static_cast<double>(v), -9.0e18, 9.0e18) : 0.0;
    return static_cast<A>(static_cast<int64_t>(c));
  } else {
    return static_cast<A>(v);
  }
}

/// Reads a float tensor of any float type into accumulation type A.
template <typename A>
Result<std::vector<A>> ReadFloats(const Tensor& t, const char* what) {
  std::vector<A> v(static_cast<size_t>(t.numel()));
  Status st = Visit<kFloats>(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<A>(static_cast<AccT<T>>(p[i]));
    return Status::Ok();
  });
  if (!st.ok()) return InvalidArgument(std::string(what) + ": " + st.message());
  return v;
}

/// Converts n elements of T to accumulation type A.
template <typename A, typename T>
void ToAcc(const T* src, int64_t n, A* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<A>(static_cast<AccT<T>>(src[i]));
}

/// C[m x n] += A[m x k] * B[k x n], all row-major with leading dimensions lda/ldb/ldc.
template <typename A>
void GemmAcc(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const A* b, int64_t ldb,
             A* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i) {
    A* crow = c + i * ldc;
    for (int64_t p = 0; p < k; ++p) {
      const A av = a[i * lda + p];
      const A* brow = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) crow[j] += av * brow[j];
    }
  }
}

/// Cubic convolution weights for the 4 taps at offsets -1, 0, 1, 2 around fraction t.
void CubicWeights(double t, double a, double w[4]);

/// Advances a row-major multi-index `idx` within `dims`; false after the last one.
inline bool NextIndex(std::vector<int64_t>& idx, const std::vector<int64_t>& dims) {
  for (size_t d = idx.size(); d-- > 0;) {
    if (++idx[d] < dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

/// Dilated offsets of every kernel element, per spatial dim: koff[k * nd + d].
inline std::vector<int64_t> KernelOffsets(const Window& win) {
  int64_t ksize = 1;
  for (int64_t k : win.kernel) ksize *= k;
  std::vector<int64_t> koff(static_cast<size_t>(ksize) * win.nd);
  std::vector<int64_t> kidx(win.nd, 0);
  for (int64_t k = 0; k < ksize; ++k) {
    for (size_t d = 0; d < win.nd; ++d) koff[k * win.nd + d] = kidx[d] * win.dilations[d];
    NextIndex(kidx, win.kernel);
  }
  return koff;
}

/// For `count` positions starting at the multi-index `idx` (advanced past them) over `dims`:
/// the window origin of each, idx * stride - pad_begin, per spatial dim: base[j * nd + d].
inline void WindowOrigins(const Window& win, const std::vector<int64_t>& dims, int64_t count,
                          std::vector<int64_t>& idx, int64_t* base) {
  for (int64_t j = 0; j < count; ++j) {
    for (size_t d = 0; d < win.nd; ++d)
      base[j * win.nd + d] = idx[d] * win.strides[d] - win.pad_begin[d];
    NextIndex(idx, dims);
  }
}

/// Row-major linear index of origin + offset within `dims`, or -1 when outside (padding).
inline int64_t LinearInside(const int64_t* origin, const int64_t* offset,
                            const std::vector<int64_t>& dims) {
  int64_t lin = 0;
  for (size_t d = 0; d < dims.size(); ++d) {
    const int64_t p = origin[d] + offset[d];
    if (p < 0 || p >= dims[d]) return -1;
    lin = lin * dims[d] + p;
  }
  return lin;
}

}  // namespace tern::ref::nn
