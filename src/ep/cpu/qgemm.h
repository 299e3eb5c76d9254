// The int8 GEMM driver of the cpu provider and the epilogues that turn its int32 results into
// the outputs of the quantized ops. Operands are widened to int16 with their zero points
// subtracted (see ukernels/qgemm/s16_gemm.h for why), A as rows and B as 16-column panels; the
// weights are packed once at load, activations per run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/thread_pool.h"
#include "ep/cpu/gemm.h"
#include "ep/cpu/ukernels/qgemm/s16_gemm.h"
#include "tern/tensor.h"

namespace tern::cpu {

/// Number of k pairs for K (K rounded up to even, halved).
inline size_t KPairs(size_t k) { return (k + 1) / 2; }

/// B (K x N) as 16-column int16 panels: panel p at data + p * kpairs * 32.
struct S16Panels {
  std::vector<int16_t> data;
  size_t n = 0, kpairs = 0;
  const int16_t* panel(size_t p) const { return data.data() + p * kpairs * 2 * kS16GemmNr; }
};

/// Packs an 8-bit B: element (k, j) at b[k * n + j] (or b[j * k_count + k] when `trans`), minus
/// zp[j] (zp has 1 or n entries).
template <typename T>
S16Panels PackS16B(const T* b, size_t k_count, size_t n, bool trans,
                   const std::vector<int32_t>& zp);

/// Widens an 8-bit A (m x k, row stride lda) to int16 rows of stride `ldd` (even, >= k) minus
/// zp[i] (1 or m entries), zero past k.
template <typename T>
void WidenS16Rows(const T* a, size_t m, size_t k, size_t lda, const std::vector<int32_t>& zp,
                  int16_t* dst, size_t ldd);

/// Fills the int16 panels for columns [j0, j0 + nc) of B (nc <= 4 * 16), zero past the matrix.
using S16PackBFn = std::function<void(size_t j0, size_t nc, int16_t* dst)>;
/// Receives C[0..m) x [j0, j0 + nc) as int32 (row i at acc + i * ld).
using S16FinishFn = std::function<void(const int32_t* acc, size_t ld, size_t j0, size_t nc)>;

struct S16GemmJob {
  size_t m = 0, n = 0, kpairs = 0;
  const int16_t* a = nullptr;  ///< int16 rows, stride lda (even)
  size_t lda = 0;
  const S16Panels* b = nullptr;  ///< prepacked B, or
  const S16PackBFn* pack_b = nullptr;
  const S16FinishFn* finish = nullptr;
};

/// Runs the job over column blocks of 64, spread over the pool.
void RunS16Gemm(const S16GemmJob& job, ThreadPool* pool);

/// How int32 accumulators of one output channel become outputs. Channel c's values:
///   kInt32:     acc
///   kQuantized: sat(round_half_even((acc + bias_i[c]) * mult[c]) + y_zero)          (QLinear*)
///   kFloat:     act(acc * mult[c] + bias_f[c]), then, when `requantize`,
///               sat(round_half_even(value / y_scale) + y_zero)                       (ai.tern Q*)
struct IntEpilogue {
  enum class Kind { kInt32, kQuantized, kFloat };
  Kind kind = Kind::kInt32;
  DataType out_type = DataType::kInt32;
  std::vector<float> mult;      ///< one per channel
  std::vector<int32_t> bias_i;  ///< empty or one per channel
  std::vector<float> bias_f;    ///< empty or one per channel
  Epilogue act;                 ///< kFloat: activation (bias unused here)
  bool requantize = false;
  float y_scale = 1;
  int32_t y_zero = 0;

  /// Writes `count` outputs from acc into out (typed by out_type) starting at element `offset`.
  /// per_element: value j belongs to channel c0 + j (matmul columns); else all to channel c0.
  void Write(const int32_t* acc, size_t count, size_t c0, bool per_element, void* out,
             size_t offset) const;
};

/// Quantizes float32 to 8 bits: sat(round_half_even(x / scale) + zero), as QuantizeLinear.
void QuantizeF32(const float* x, size_t n, float scale, int32_t zero, DataType type, void* out,
                 size_t offset);

}  // namespace tern::cpu
