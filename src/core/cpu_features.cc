#include "core/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace tern {

namespace {

CpuFeatures Detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  f.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  f.avx512vnni = f.avx512 && __builtin_cpu_supports("avx512vnni");
  f.avxvnni = f.avx2 && __builtin_cpu_supports("avxvnni");
#endif
  const char* cap = std::getenv("TERN_ISA");
  if (cap) {
    if (std::strcmp(cap, "scalar") == 0) f = CpuFeatures();
    if (std::strcmp(cap, "avx2") == 0) {
      f.avx512 = false;
      f.avx512vnni = false;
      f.avxvnni = false;
    }
  }
  return f;
}

}  // namespace

const CpuFeatures& GetCpuFeatures() {
  static const CpuFeatures features = Detect();
  return features;
}

Isa BestIsa() {
  const CpuFeatures& f = GetCpuFeatures();
  if (f.avx512) return Isa::kAvx512;
  if (f.avx2) return Isa::kAvx2;
  return Isa::kScalar;
}

const char* IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

}  // namespace tern
