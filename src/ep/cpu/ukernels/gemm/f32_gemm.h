// f32 GEMM microkernels: C[m x n] (+)= A_panel * B_panel over kc steps, where A_panel holds kc
// columns of MR rows (row index fastest) and B_panel kc rows of NR columns (column fastest).
// Names follow <type>_gemm_<MR>x<NR>__<isa>. m <= MR and n <= NR: edge tiles are handled by the
// kernel itself. `accumulate` false overwrites C, true adds to it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"

namespace tern::cpu {

using F32GemmUkernel = void (*)(size_t kc, const float* a, const float* b, float* c, size_t ldc,
                                size_t m, size_t n, bool accumulate);

/// The same product with B read in place: row k of the B panel is the NR floats at b + koff[k]
/// (a row-major matrix, or image rows of a convolution, without packing them).
using F32GemmIndirectUkernel = void (*)(size_t kc, const float* a, const float* b,
                                        const ptrdiff_t* koff, float* c, size_t ldc, size_t m,
                                        size_t n, bool accumulate);

struct F32GemmUkernelInfo {
  const char* name;
  size_t mr;
  size_t nr;
  F32GemmUkernel fn;
  Isa isa;
  F32GemmIndirectUkernel indirect;
};

void f32_gemm_4x8__scalar(size_t kc, const float* a, const float* b, float* c, size_t ldc, size_t m,
                          size_t n, bool accumulate);
void f32_gemm_6x16__avx2_fma(size_t kc, const float* a, const float* b, float* c, size_t ldc,
                             size_t m, size_t n, bool accumulate);
void f32_gemm_8x32__avx512f(size_t kc, const float* a, const float* b, float* c, size_t ldc,
                            size_t m, size_t n, bool accumulate);
void f32_gemm_4x8__scalar_indirect(size_t kc, const float* a, const float* b, const ptrdiff_t* koff,
                                   float* c, size_t ldc, size_t m, size_t n, bool accumulate);
void f32_gemm_6x16__avx2_fma_indirect(size_t kc, const float* a, const float* b,
                                      const ptrdiff_t* koff, float* c, size_t ldc, size_t m,
                                      size_t n, bool accumulate);
void f32_gemm_8x32__avx512f_indirect(size_t kc, const float* a, const float* b,
                                     const ptrdiff_t* koff, float* c, size_t ldc, size_t m,
                                     size_t n, bool accumulate);

/// Every variant this build has (scalar first); the ones the CPU cannot run are still listed.
const F32GemmUkernelInfo* F32GemmUkernels(size_t* count);
/// The best variant for this CPU (respects TERN_ISA).
const F32GemmUkernelInfo& BestF32GemmUkernel();

}  // namespace tern::cpu
