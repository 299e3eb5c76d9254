#include "ep/cpu/ukernels/nbits/q4_dot.h"

namespace tern::cpu {

float q4_dot__scalar(const uint8_t* codes, const float* a, size_t count) {
  // Two accumulators (even and odd k) keep the dependency chains short.
  float even = 0, odd = 0;
  size_t k = 0;
  for (; k + 2 <= count; k += 2) {
    const uint8_t byte = codes[k / 2];
    even += static_cast<float>(byte & 0x0F) * a[k];
    odd += static_cast<float>(byte >> 4) * a[k + 1];
  }
  if (k < count) even += static_cast<float>(codes[k / 2] & 0x0F) * a[k];
  return even + odd;
}

}  // namespace tern::cpu
