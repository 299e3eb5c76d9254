// Helpers shared by the shape and data-movement reference kernels (Reshape, Gather, Pad, ...):
// dtype-agnostic element copies, integer inputs, and overflow-checked size arithmetic.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ep/ref/ref_common.h"

namespace tern::ref {

/// Copies elements of one dtype between buffers: std::string assignment for strings, memcpy for
/// every other type.
class ElemCopier {
 public:
  explicit ElemCopier(DataType type)
      : is_string_(type == DataType::kString), size_(DataTypeSize(type)) {}
  /// dst[di .. di+n) = src[si .. si+n)
  void operator()(void* dst, int64_t di, const void* src, int64_t si, int64_t n = 1) const {
    if (n <= 0) return;
    if (is_string_) {
      const std::string* s = static_cast<const std::string*>(src) + si;
      std::string* d = static_cast<std::string*>(dst) + di;
      for (int64_t k = 0; k < n; ++k) d[k] = s[k];
    } else {
      std::memcpy(static_cast<uint8_t*>(dst) + di * size_,
                  static_cast<const uint8_t*>(src) + si * size_, static_cast<size_t>(n) * size_);
    }
  }
  size_t elem_size() const { return size_; }

 private:
  bool is_string_;
  size_t size_;
};

/// a * b, or ResourceExhausted when it overflows int64 (both must be >= 0).
Result<int64_t> CheckedMul(int64_t a, int64_t b, const char* what);
/// Product of dims with overflow checks (each dim must be >= 0).
Result<int64_t> CheckedNumElements(const std::vector<int64_t>& dims, const char* what);

/// Reads integer input i (int32 or int64) as int64 values; InvalidArgument when absent.
Result<std::vector<int64_t>> ReadIntInput(const KernelContext& ctx, size_t i, const char* what);
/// Reads a scalar (or one-element) integer input.
Result<int64_t> ReadIntScalar(const KernelContext& ctx, size_t i, const char* what);

/// Normalises each axis (negative allowed) for `rank`; fails on duplicates and out of range.
Result<std::vector<int64_t>> NormalizeAxes(const std::vector<int64_t>& axes, int64_t rank,
                                           const char* what = "axes");

/// Index value i of an int32/int64 tensor (the caller checked the dtype).
inline int64_t IndexAt(const Tensor& t, int64_t i) {
  return t.dtype() == DataType::kInt64 ? t.data<int64_t>()[i]
                                       : static_cast<int64_t>(t.data<int32_t>()[i]);
}
/// InvalidArgument unless t is int32 or int64.
Status CheckIndexType(const KernelContext& ctx, const Tensor& t, const char* what);

/// Checks that input i exists and is a tensor.
Status RequireInput(const KernelContext& ctx, size_t i, const char* what);

/// A strict weak order for sorting elements: the usual < with every NaN after every number and
/// NaNs equivalent to each other (std::sort needs this; plain < on NaN is not an order).
template <typename T>
bool TotalLess(const T& a, const T& b) {
  if constexpr (kIsFloat<T>) {
    using C = AccT<T>;
    const C x = static_cast<C>(a), y = static_cast<C>(b);
    if (std::isnan(x)) return false;
    if (std::isnan(y)) return true;
    return x < y;
  } else {
    return a < b;
  }
}

/// a + b and a * b in the element type: integers wrap (no signed-overflow UB), bool is or/and,
/// 16-bit floats compute in float and round once.
template <typename T>
T WrapAdd(const T& a, const T& b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a || b;
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  } else {
    return static_cast<T>(static_cast<AccT<T>>(a) + static_cast<AccT<T>>(b));
  }
}
template <typename T>
T WrapMul(const T& a, const T& b) {
  if constexpr (std::is_same_v<T, bool>) {
    return a && b;
  } else if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  } else {
    return static_cast<T>(static_cast<AccT<T>>(a) * static_cast<AccT<T>>(b));
  }
}

/// Calls fn(out_index, coords) for every index of `shape` in row-major order.
template <typename Fn>
void ForEachIndex(const Shape& shape, Fn&& fn) {
  const int64_t n = shape.NumElements();
  if (n == 0) return;
  std::vector<int64_t> c(shape.rank(), 0);
  for (int64_t i = 0; i < n; ++i) {
    fn(i, c.data());
    for (int64_t d = static_cast<int64_t>(shape.rank()) - 1; d >= 0; --d) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  }
}

}  // namespace tern::ref
