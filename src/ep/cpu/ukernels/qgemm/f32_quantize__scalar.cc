#include <algorithm>

#include "core/cpu_features.h"
#include "ep/cpu/ukernels/qgemm/f32_quantize.h"

namespace tern::cpu {

void f32_quantize__scalar(const float* x, size_t n, float scale, int32_t zero, bool is_signed,
                          void* out) {
  // Clamping before rounding is the same as saturating after it (the bounds are integers), and
  // keeps the value small enough for the 1.5 * 2^23 rounding trick (ties to even).
  const float lo = static_cast<float>((is_signed ? -128 : 0) - zero);
  const float hi = static_cast<float>((is_signed ? 127 : 255) - zero);
  constexpr float kMagic = 12582912.0f;
  for (size_t i = 0; i < n; ++i) {
    const float q = x[i] / scale;
    int32_t v = 0;
    if (q == q) v = static_cast<int32_t>((std::clamp(q, lo, hi) + kMagic) - kMagic) + zero;
    if (is_signed)
      static_cast<int8_t*>(out)[i] = static_cast<int8_t>(v);
    else
      static_cast<uint8_t*>(out)[i] = static_cast<uint8_t>(v);
  }
}

F32QuantizeUkernel BestF32QuantizeUkernel() {
#if defined(__x86_64__)
  static const F32QuantizeUkernel best =
      BestIsa() != Isa::kScalar ? f32_quantize__avx2 : f32_quantize__scalar;
  return best;
#else
  return f32_quantize__scalar;
#endif
}

}  // namespace tern::cpu
