// Float32 to 8-bit quantization, y = sat(round_half_even(x / scale) + zero) as QuantizeLinear
// (NaN gives 0), for the int8 ops' inputs and requantized outputs. The division stays a division
// (x * (1 / scale) rounds differently for some x), so results equal the reference kernel's.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tern::cpu {

using F32QuantizeUkernel = void (*)(const float* x, size_t n, float scale, int32_t zero,
                                    bool is_signed, void* out);

void f32_quantize__scalar(const float* x, size_t n, float scale, int32_t zero, bool is_signed,
                          void* out);
void f32_quantize__avx2(const float* x, size_t n, float scale, int32_t zero, bool is_signed,
                        void* out);

/// The best variant for this CPU (respects TERN_ISA).
F32QuantizeUkernel BestF32QuantizeUkernel();

}  // namespace tern::cpu
