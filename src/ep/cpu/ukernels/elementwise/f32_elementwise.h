// f32 elementwise microkernels over contiguous runs of n floats:
//  - binary: y = a op b with both operands vectors (vv), b a scalar (vs) or a a scalar (sv);
//  - activation: y = act(x) for the activations the fused ops and the unary ops share;
//  - affine: y = x * scale + shift with scalar scale and shift (BatchNormalization per channel);
//  - reductions: the sum or the maximum of n floats (global pooling).
// Names follow f32_<family>__<isa>. y may alias an input (in-place use by epilogues).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"

namespace tern::cpu {

enum class BinaryOp : uint8_t { kAdd, kSub, kMul, kDiv, kMax, kMin };
inline constexpr size_t kNumBinaryOps = 6;

enum class Activation : uint8_t {
  kNone,
  kRelu,
  kClip,
  kLeakyRelu,
  kSigmoid,
  kHardSigmoid,
  kHardSwish,
  kTanh
};

/// The activation and its parameters.
struct ActivationParams {
  Activation act = Activation::kNone;
  float alpha = 0;  ///< Clip min, LeakyRelu alpha, HardSigmoid alpha
  float beta = 0;   ///< Clip max, HardSigmoid beta
};

using F32VBinaryVVUkernel = void (*)(size_t n, const float* a, const float* b, float* y);
using F32VBinaryVSUkernel = void (*)(size_t n, const float* a, float b, float* y);
using F32VActivationUkernel = void (*)(size_t n, const float* x, float* y,
                                       const ActivationParams& p);
using F32VAffineUkernel = void (*)(size_t n, const float* x, float scale, float shift, float* y);
using F32ReduceUkernel = float (*)(size_t n, const float* x);

/// One ISA's elementwise kernels, indexed by BinaryOp.
struct F32ElementwiseUkernels {
  const char* isa_name;
  Isa isa;
  F32VBinaryVVUkernel vv[kNumBinaryOps];
  F32VBinaryVSUkernel vs[kNumBinaryOps];  ///< a op scalar
  F32VBinaryVSUkernel sv[kNumBinaryOps];  ///< scalar op a (the scalar is the left operand)
  F32VActivationUkernel activation;
  F32VAffineUkernel affine;
  F32ReduceUkernel sum;
  F32ReduceUkernel max;  ///< NaN if any input is NaN; -inf for n == 0
};

/// The table of one ISA, from its per-op binary kernels B<Op>::VV, ::VS, ::SV.
template <template <BinaryOp> class B>
F32ElementwiseUkernels MakeF32ElementwiseUkernels(const char* isa_name, Isa isa,
                                                  F32VActivationUkernel activation,
                                                  F32VAffineUkernel affine, F32ReduceUkernel sum,
                                                  F32ReduceUkernel max) {
  using O = BinaryOp;
  return {isa_name,
          isa,
          {B<O::kAdd>::VV, B<O::kSub>::VV, B<O::kMul>::VV, B<O::kDiv>::VV, B<O::kMax>::VV,
           B<O::kMin>::VV},
          {B<O::kAdd>::VS, B<O::kSub>::VS, B<O::kMul>::VS, B<O::kDiv>::VS, B<O::kMax>::VS,
           B<O::kMin>::VS},
          {B<O::kAdd>::SV, B<O::kSub>::SV, B<O::kMul>::SV, B<O::kDiv>::SV, B<O::kMax>::SV,
           B<O::kMin>::SV},
          activation,
          affine,
          sum,
          max};
}

const F32ElementwiseUkernels& F32ElementwiseUkernelsScalar();
const F32ElementwiseUkernels& F32ElementwiseUkernelsAvx2();

/// Every variant this build has that this CPU can run (scalar first; respects TERN_ISA).
size_t RunnableF32ElementwiseUkernels(const F32ElementwiseUkernels** out, size_t capacity);
/// The best variant for this CPU (respects TERN_ISA).
const F32ElementwiseUkernels& BestF32ElementwiseUkernels();

}  // namespace tern::cpu
