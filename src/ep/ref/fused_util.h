// The reference kernels of the ai.tern fused ops (FusedConv, FusedGemm, FusedMatMul): the base
// op's reference kernel, then the activation named by the `activation` attribute applied in place.
//
// Contract shared with optimized providers: same inputs and attributes as the base op, plus
//   activation (string): Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh
//   activation_params (floats): Clip [min, max], LeakyRelu [alpha], HardSigmoid [alpha, beta]
#pragma once

#include <memory>

#include "ep/ref/ref_common.h"

namespace tern::ref {

/// A parsed activation; Apply runs it over float32 data in place.
struct Activation {
  enum class Kind : uint8_t { kRelu, kClip, kLeakyRelu, kHardSigmoid, kHardSwish, kSigmoid, kTanh };
  Kind kind = Kind::kRelu;
  float a = 0, b = 0;
  /// Reads `activation` and `activation_params`; InvalidModel on unknown names or bad params.
  static Result<Activation> Parse(const KernelInfo& info);
  void Apply(float* data, int64_t n) const;
};

/// Runs the reference kernel of `base_op` (ai.onnx) and then the activation.
class FusedKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info, const char* base_op);
  Status Compute(KernelContext& ctx) const override;

 private:
  std::unique_ptr<OpKernel> base_;
  Activation activation_;
};

/// Makes a FusedKernel over `base_op`.
Result<std::unique_ptr<OpKernel>> CreateFused(const KernelInfo& info, const char* base_op);

}  // namespace tern::ref
