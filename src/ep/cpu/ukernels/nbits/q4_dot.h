// Dot products of 4-bit codes with floats: sum_k code[k] * a[k] for k < count, where the codes
// are packed as in com.microsoft MatMulNBits (two per byte, even k in the low nibble). The
// MatMulNBits kernel applies the block's scale and zero point outside, so one call serves any
// zero point. Names follow <type>_<op>__<isa>; the best variant is picked at run time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"

namespace tern::cpu {

using Q4DotUkernel = float (*)(const uint8_t* codes, const float* a, size_t count);

struct Q4DotUkernelInfo {
  const char* name;
  Q4DotUkernel fn;
  Isa isa;
};

float q4_dot__scalar(const uint8_t* codes, const float* a, size_t count);
float q4_dot__avx2(const uint8_t* codes, const float* a, size_t count);

/// Every variant this build has (scalar first); the ones the CPU cannot run are still listed.
const Q4DotUkernelInfo* Q4DotUkernels(size_t* count);
/// The best variant for this CPU (respects TERN_ISA).
const Q4DotUkernelInfo& BestQ4DotUkernel();

}  // namespace tern::cpu
