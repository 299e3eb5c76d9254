// f32 depthwise convolution microkernels: one channel plane at a time, y = bias + sum over the
// kh x kw window of w * x, with zero padding. Names follow f32_dwconv__<isa>.
#pragma once

#include <cstddef>

#include "core/cpu_features.h"

namespace tern::cpu {

/// Geometry of one channel plane (2-D; a 1-D conv has ih = oh = kh = 1).
struct DwConvShape {
  size_t ih, iw, oh, ow;
  size_t kh, kw;
  size_t sh, sw, dh, dw;
  size_t pt, pl;  ///< padding before the first row and column
};

using F32DwConvUkernel = void (*)(const float* x, const float* w, float bias, float* y,
                                  const DwConvShape& s);

void f32_dwconv__scalar(const float* x, const float* w, float bias, float* y, const DwConvShape& s);
void f32_dwconv__avx2(const float* x, const float* w, float bias, float* y, const DwConvShape& s);

/// The best variant for this CPU (respects TERN_ISA).
F32DwConvUkernel BestF32DwConvUkernel();

/// First and one-past-last output column whose input column for tap kx is inside the row.
inline void DwConvValidColumns(const DwConvShape& s, size_t kx, size_t* lo, size_t* hi) {
  // Input column of output ox is ox*sw + kx*dw - pl; valid when in [0, iw).
  const long off = static_cast<long>(kx * s.dw) - static_cast<long>(s.pl);
  const long sw = static_cast<long>(s.sw);
  long first = off >= 0 ? 0 : (-off + sw - 1) / sw;
  long last = static_cast<long>(s.iw) - 1 - off;  // largest ox*sw allowed
  long end = last < 0 ? 0 : last / sw + 1;
  if (end > static_cast<long>(s.ow)) end = static_cast<long>(s.ow);
  if (first > end) first = end;
  *lo = static_cast<size_t>(first);
  *hi = static_cast<size_t>(end);
}

}  // namespace tern::cpu
