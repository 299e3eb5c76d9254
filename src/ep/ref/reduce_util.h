// Shared helpers for the reduction family (Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax/Hardmax,
// and the losses): axis-set validation, reduced shapes and safe numeric conversions.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "ep/ref/ref_common.h"

namespace tern::ref {

/// Validates `axes` against `rank` (each in [-rank, rank), no duplicates after normalising) and
/// returns a mask with true at each reduced axis.
Result<std::vector<bool>> ReduceAxesMask(const std::vector<int64_t>& axes, size_t rank);

/// The shape after reducing the masked axes: kept as 1 when keepdims, else dropped.
Shape ReducedShape(const Shape& in, const std::vector<bool>& mask, bool keepdims);

/// Splits `shape` around `axis` into (outer, n, inner): outer = prod(dims[0, axis)),
/// n = dims[axis], inner = prod(dims(axis, rank)).
void SplitAtAxis(const Shape& shape, size_t axis, int64_t* outer, int64_t* n, int64_t* inner);

/// Converts a double to T: floats round to nearest; integers truncate toward zero and saturate
/// (NaN becomes 0) so that out-of-range values never invoke undefined behaviour.
template <typename T>
T FromDouble(double v) {
  if constexpr (kIsFloat<T>) {
    return static_cast<T>(static_cast<AccT<T>>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else {
    if (std::isnan(v)) return T{0};
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
    // 2^bits as a double is exact; anything >= it is out of range.
    constexpr double hi_excl = static_cast<double>(std::numeric_limits<T>::max() / 2 + 1) * 2.0;
    if (v <= lo) return std::numeric_limits<T>::lowest();
    if (v >= hi_excl) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

/// Element as double (16-bit floats go through float).
template <typename T>
double ToDouble(T v) {
  return static_cast<double>(static_cast<AccT<T>>(v));
}

}  // namespace tern::ref
