// Portable depthwise convolution: each output row is filled with the bias, then every tap adds
// its weight times a (strided) input row over the output columns where that tap is inside the
// image, so the inner loop has no bounds checks.
#include "ep/cpu/ukernels/dwconv/f32_dwconv.h"

namespace tern::cpu {

void f32_dwconv__scalar(const float* x, const float* w, float bias, float* y,
                        const DwConvShape& s) {
  for (size_t oy = 0; oy < s.oh; ++oy) {
    float* yr = y + oy * s.ow;
    for (size_t ox = 0; ox < s.ow; ++ox) yr[ox] = bias;
    for (size_t ky = 0; ky < s.kh; ++ky) {
      const long iy = static_cast<long>(oy * s.sh + ky * s.dh) - static_cast<long>(s.pt);
      if (iy < 0 || iy >= static_cast<long>(s.ih)) continue;
      const float* xr = x + static_cast<size_t>(iy) * s.iw;
      for (size_t kx = 0; kx < s.kw; ++kx) {
        size_t lo, hi;
        DwConvValidColumns(s, kx, &lo, &hi);
        const float wv = w[ky * s.kw + kx];
        // lo*sw + kx*dw >= pl holds for every ox >= lo.
        const float* xp = xr + lo * s.sw + kx * s.dw - s.pl;
        for (size_t ox = lo; ox < hi; ++ox, xp += s.sw) yr[ox] += wv * *xp;
      }
    }
  }
}

F32DwConvUkernel BestF32DwConvUkernel() {
#if defined(__x86_64__)
  if (static_cast<int>(BestIsa()) >= static_cast<int>(Isa::kAvx2)) return f32_dwconv__avx2;
#endif
  return f32_dwconv__scalar;
}

}  // namespace tern::cpu
