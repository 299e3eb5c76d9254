// The f32 GEMM driver of the cpu provider: C = A * B (+ bias, activation), blocked over K
// (kKc) with operand panels packed for the microkernel. Either operand may be packed once ahead
// of time (weights), or packed per block at run time from a strided matrix or by a callback
// (convolution packs image patches straight into B panels: no full im2col buffer).
#pragma once

#include <cstddef>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "ep/cpu/ukernels/elementwise/f32_elementwise.h"
#include "ep/cpu/ukernels/gemm/f32_gemm.h"

namespace tern::cpu {

constexpr size_t kKc = 256;  ///< K block: A and B panels of one block stay in L1/L2

struct Epilogue {
  const float* bias = nullptr;
  bool bias_per_row = true;  ///< bias[i] for row i, else bias[j] for column j
  Activation act = Activation::kNone;
  float alpha = 0;  ///< Clip min, LeakyRelu alpha, HardSigmoid alpha
  float beta = 0;   ///< Clip max, HardSigmoid beta
};

/// Copies one row of a B micro-panel (nr floats). The usual widths get a constant-size copy the
/// compiler inlines; a variable-size memcpy is a library call per 16 floats.
inline void CopyPanelRow(float* dst, const float* src, size_t nr) {
  switch (nr) {
    case 8:
      std::memcpy(dst, src, 8 * sizeof(float));
      break;
    case 16:
      std::memcpy(dst, src, 16 * sizeof(float));
      break;
    case 32:
      std::memcpy(dst, src, 32 * sizeof(float));
      break;
    default:
      std::memcpy(dst, src, nr * sizeof(float));
  }
}

/// Applies the activation of `e` to n values in place.
void ApplyActivation(float* x, size_t n, const Epilogue& e);

/// 64-byte aligned float storage.
struct AlignedFloats {
  std::unique_ptr<float, void (*)(void*)> ptr{nullptr, nullptr};
  size_t size = 0;
  float* data() const { return ptr.get(); }
  void Resize(size_t n);
};

/// A matrix packed for one microkernel: A as MR-row panels, or B as NR-column panels, per K block.
struct PackedMatrix {
  AlignedFloats data;
  size_t rows = 0, cols = 0;  ///< logical M x K (A) or K x N (B)
  size_t panel = 0;           ///< MR or NR
};

/// Packs A (M x K; element (i,k) at a[i*lda + k], or a[k*lda + i] when `trans`).
PackedMatrix PackA(const float* a, size_t m, size_t k, size_t lda, bool trans,
                   const F32GemmUkernelInfo& uk);
/// Packs B (K x N; element (k,j) at b[k*ldb + j], or b[j*ldb + k] when `trans`).
PackedMatrix PackB(const float* b, size_t k, size_t n, size_t ldb, bool trans,
                   const F32GemmUkernelInfo& uk);

/// Fills B panels for rows [k0, k0+kc) and columns [j0, j0+nc): panel p holds kc x NR values for
/// columns j0 + p*NR ..., zero beyond column n.
using PackBFn = std::function<void(float* dst, size_t k0, size_t kc, size_t j0, size_t nc)>;

/// For B read in place: the address of row 0 of the full NR-column panel that starts at column
/// j0 (row k is at that address + b_koff[k]), or null when that panel must be packed.
using BDirectFn = std::function<const float*(size_t j0)>;

struct GemmProblem {
  size_t m = 0, n = 0, k = 0;
  const PackedMatrix* a_packed = nullptr;
  const float* a = nullptr;
  size_t lda = 0;
  bool a_trans = false;
  const PackedMatrix* b_packed = nullptr;
  const float* b = nullptr;
  size_t ldb = 0;
  bool b_trans = false;
  const PackBFn* b_pack = nullptr;
  const BDirectFn* b_direct = nullptr;  ///< with b_pack: panels read in place where it says so
  const ptrdiff_t* b_koff = nullptr;    ///< K row offsets for b_direct
  float* c = nullptr;
  size_t ldc = 0;
  Epilogue epilogue;
};

/// Runs the GEMM with `uk` (which packed any prepacked operand), splitting C over the pool.
void RunGemm(const GemmProblem& p, const F32GemmUkernelInfo& uk, ThreadPool* pool);

}  // namespace tern::cpu
