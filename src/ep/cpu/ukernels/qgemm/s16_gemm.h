// Integer GEMM microkernels for the int8 ops: C[mr x 16] = A[mr x K] * B[K x 16] with int32
// results, where both operands were widened to int16 with their zero points already subtracted
// (a value lies in [-255, 255]).
//
// Why int16 and not vpmaddubsw on u8 x s8: vpmaddubsw adds two u8*s8 products into a saturating
// int16 (255 * 127 * 2 overflows), which silently corrupts results for ordinary weights.
// vpmaddwd multiplies int16 pairs and adds them into int32 exactly, and subtracting the zero
// points while packing removes every correction term (sum x*w - zx*sum w - ...). Pair products
// are at most 2 * 255^2, so K up to 33,000 cannot overflow int32. AVX-VNNI and AVX-512 VNNI have
// the same instruction fused with the accumulation (vpdpwssd), so all variants share one layout:
//   A: row-major int16, K padded to an even count with zeros; the kernel broadcasts one int32
//      (a pair of k) per row.
//   B: one panel of 16 columns per call: for each k pair p, 16 columns x 2 int16 (k = 2p, 2p+1),
//      i.e. 64 bytes per pair; columns past the matrix are zero.
// Names follow <type>_<op>_<MR>x<NR>__<isa>; the best variant is picked at run time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"

namespace tern::cpu {

constexpr size_t kS16GemmMr = 4;   ///< rows per microkernel call
constexpr size_t kS16GemmNr = 16;  ///< columns of a B panel

/// c[i * ldc + j] = sum over k of a[i * lda + k] * panel(k, j), for i < mr (<= 4), j < nc (<= 16).
/// `kpairs` is K / 2 (K padded to even); lda counts int16 elements and is even.
using S16GemmUkernel = void (*)(size_t mr, size_t nc, size_t kpairs, const int16_t* a, size_t lda,
                                const int16_t* b_panel, int32_t* c, size_t ldc);

struct S16GemmUkernelInfo {
  const char* name;
  S16GemmUkernel fn;
  bool (*supported)();  ///< whether this CPU (after the TERN_ISA cap) runs it
};

void s16_gemm_4x16__scalar(size_t mr, size_t nc, size_t kpairs, const int16_t* a, size_t lda,
                           const int16_t* b_panel, int32_t* c, size_t ldc);
void s16_gemm_4x16__avx2(size_t mr, size_t nc, size_t kpairs, const int16_t* a, size_t lda,
                         const int16_t* b_panel, int32_t* c, size_t ldc);
void s16_gemm_4x16__avxvnni(size_t mr, size_t nc, size_t kpairs, const int16_t* a, size_t lda,
                            const int16_t* b_panel, int32_t* c, size_t ldc);
void s16_gemm_4x16__avx512vnni(size_t mr, size_t nc, size_t kpairs, const int16_t* a, size_t lda,
                               const int16_t* b_panel, int32_t* c, size_t ldc);

/// Every variant this build has (scalar first); ones this CPU cannot run are still listed.
const S16GemmUkernelInfo* S16GemmUkernels(size_t* count);
/// The best variant this CPU runs (respects TERN_ISA).
const S16GemmUkernelInfo& BestS16GemmUkernel();

}  // namespace tern::cpu
