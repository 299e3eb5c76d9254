#include "ep/cpu/ukernels/gemm/f32_gemm.h"

namespace tern::cpu {

namespace {
#if defined(__x86_64__)
constexpr F32GemmUkernelInfo kKernels[] = {
    {"f32_gemm_4x8__scalar", 4, 8, f32_gemm_4x8__scalar, Isa::kScalar,
     f32_gemm_4x8__scalar_indirect},
    {"f32_gemm_6x16__avx2_fma", 6, 16, f32_gemm_6x16__avx2_fma, Isa::kAvx2,
     f32_gemm_6x16__avx2_fma_indirect},
    {"f32_gemm_8x32__avx512f", 8, 32, f32_gemm_8x32__avx512f, Isa::kAvx512,
     f32_gemm_8x32__avx512f_indirect},
};
#else
constexpr F32GemmUkernelInfo kKernels[] = {
    {"f32_gemm_4x8__scalar", 4, 8, f32_gemm_4x8__scalar, Isa::kScalar,
     f32_gemm_4x8__scalar_indirect},
};
#endif
}  // namespace

const F32GemmUkernelInfo* F32GemmUkernels(size_t* count) {
  *count = sizeof(kKernels) / sizeof(kKernels[0]);
  return kKernels;
}

const F32GemmUkernelInfo& BestF32GemmUkernel() {
  static const F32GemmUkernelInfo* best = [] {
    const Isa isa = BestIsa();
    const F32GemmUkernelInfo* pick = &kKernels[0];
    for (const auto& k : kKernels)
      if (static_cast<int>(k.isa) <= static_cast<int>(isa)) pick = &k;
    return pick;
  }();
  return *best;
}

}  // namespace tern::cpu
