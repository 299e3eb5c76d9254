#include "ep/cpu/ukernels/nbits/q4_dot.h"

namespace tern::cpu {

namespace {
#if defined(__x86_64__)
constexpr Q4DotUkernelInfo kKernels[] = {
    {"q4_dot__scalar", q4_dot__scalar, Isa::kScalar},
    {"q4_dot__avx2", q4_dot__avx2, Isa::kAvx2},
};
#else
constexpr Q4DotUkernelInfo kKernels[] = {
    {"q4_dot__scalar", q4_dot__scalar, Isa::kScalar},
};
#endif
}  // namespace

const Q4DotUkernelInfo* Q4DotUkernels(size_t* count) {
  *count = sizeof(kKernels) / sizeof(kKernels[0]);
  return kKernels;
}

const Q4DotUkernelInfo& BestQ4DotUkernel() {
  static const Q4DotUkernelInfo* best = [] {
    const Isa isa = BestIsa();
    const Q4DotUkernelInfo* pick = &kKernels[0];
    for (const auto& k : kKernels)
      if (static_cast<int>(k.isa) <= static_cast<int>(isa)) pick = &k;
    return pick;
  }();
  return *best;
}

}  // namespace tern::cpu
