// What the CPU can do, read once at run time (the build never assumes an ISA beyond x86-64 or
// aarch64 baseline). TERN_ISA=scalar|avx2|avx512 caps the choice, for tests and comparisons.
#pragma once

namespace tern {

struct CpuFeatures {
  bool avx2 = false;      ///< AVX2 and FMA3 (and F16C)
  bool avx512 = false;    ///< AVX-512 F, BW, DQ, VL
  bool avx512vnni = false;
  bool avxvnni = false;
};

/// Features of this CPU, capped by TERN_ISA when set.
const CpuFeatures& GetCpuFeatures();

enum class Isa { kScalar, kAvx2, kAvx512 };
/// The best ISA tier available (after the TERN_ISA cap).
Isa BestIsa();
const char* IsaName(Isa isa);

}  // namespace tern
