// Shared helpers of the cpu provider's kernels: factories, the float32 capability check, and the
// fused-activation contract of the ai.tern ops (FusedConv, FusedGemm, FusedMatMul).
#pragma once

#include <memory>
#include <string>

#include "ep/cpu/gemm.h"
#include "ep/kernel.h"
#include "ep/provider.h"

namespace tern::cpu {

/// Domain of Tern's own fused ops.
inline constexpr const char* kTernDomain = "ai.tern";

/// Makes a kernel K and runs its `Status Init(const KernelInfo&)`.
template <typename K>
Result<std::unique_ptr<OpKernel>> Create(const KernelInfo& info) {
  auto k = std::make_unique<K>();
  TERN_RETURN_IF_ERROR(k->Init(info));
  return std::unique_ptr<OpKernel>(std::move(k));
}

/// Ok when the declared element type of input i is float32; NotImplemented (naming the input and
/// its type) otherwise, so the node falls back.
Status RequireFloat32(const KernelInfo& info, size_t input, const char* what);

/// Reads the `activation` / `activation_params` attributes of a fused op into `e` (kNone when
/// absent). Unknown names and missing parameters answer NotImplemented.
Status ParseFusedActivation(const KernelInfo& info, Epilogue* e);

/// The packing and microkernel choice of this process (BestF32GemmUkernel()).
const F32GemmUkernelInfo& GemmUkernel();

}  // namespace tern::cpu
