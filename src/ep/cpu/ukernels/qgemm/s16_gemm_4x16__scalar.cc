#include "ep/cpu/ukernels/qgemm/s16_gemm.h"

namespace tern::cpu {

void s16_gemm_4x16__scalar(size_t mr, size_t nc, size_t kpairs, const int16_t* a, size_t lda,
                           const int16_t* b_panel, int32_t* c, size_t ldc) {
  for (size_t i = 0; i < mr; ++i) {
    int32_t acc[kS16GemmNr] = {};
    const int16_t* row = a + i * lda;
    for (size_t p = 0; p < kpairs; ++p) {
      const int32_t a0 = row[2 * p], a1 = row[2 * p + 1];
      const int16_t* b = b_panel + p * 2 * kS16GemmNr;
      for (size_t j = 0; j < kS16GemmNr; ++j) acc[j] += a0 * b[2 * j] + a1 * b[2 * j + 1];
    }
    for (size_t j = 0; j < nc; ++j) c[i * ldc + j] = acc[j];
  }
}

}  // namespace tern::cpu
