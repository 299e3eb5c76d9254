#include "ep/cpu/ukernels/qgemm/s16_gemm.h"

namespace tern::cpu {

namespace {

bool Always() { return true; }
#if defined(__x86_64__)
bool HasAvx2() { return BestIsa() != Isa::kScalar; }
bool HasAvxVnni() { return HasAvx2() && GetCpuFeatures().avxvnni; }
bool HasAvx512Vnni() { return BestIsa() == Isa::kAvx512 && GetCpuFeatures().avx512vnni; }

// Ordered from least to most preferred.
constexpr S16GemmUkernelInfo kKernels[] = {
    {"s16_gemm_4x16__scalar", s16_gemm_4x16__scalar, Always},
    {"s16_gemm_4x16__avx2", s16_gemm_4x16__avx2, HasAvx2},
    {"s16_gemm_4x16__avxvnni", s16_gemm_4x16__avxvnni, HasAvxVnni},
    {"s16_gemm_4x16__avx512vnni", s16_gemm_4x16__avx512vnni, HasAvx512Vnni},
};
#else
constexpr S16GemmUkernelInfo kKernels[] = {
    {"s16_gemm_4x16__scalar", s16_gemm_4x16__scalar, Always},
};
#endif

}  // namespace

const S16GemmUkernelInfo* S16GemmUkernels(size_t* count) {
  *count = sizeof(kKernels) / sizeof(kKernels[0]);
  return kKernels;
}

const S16GemmUkernelInfo& BestS16GemmUkernel() {
  static const S16GemmUkernelInfo* best = [] {
    const S16GemmUkernelInfo* pick = &kKernels[0];
    for (const auto& k : kKernels)
      if (k.supported()) pick = &k;
    return pick;
  }();
  return *best;
}

}  // namespace tern::cpu
