// Shared helpers of the cpu provider's kernels: factories, the float32 capability check, and the
// fused-activation contract of the ai.tern ops (FusedConv, FusedGemm, FusedMatMul).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ep/cpu/gemm.h"
#include "ep/kernel.h"
#include "ep/provider.h"

namespace tern::cpu {

/// Domain of Tern's own fused ops.
inline constexpr const char* kTernDomain = "ai.tern";

/// Makes a kernel K (constructed from Args, e.g. the op it runs) and runs its
/// `Status Init(const KernelInfo&)`.
template <typename K, auto... Args>
Result<std::unique_ptr<OpKernel>> Create(const KernelInfo& info) {
  auto k = std::make_unique<K>(Args...);
  TERN_RETURN_IF_ERROR(k->Init(info));
  return std::unique_ptr<OpKernel>(std::move(k));
}

/// Ok when the declared element type of input i is float32; NotImplemented (naming the input and
/// its type) otherwise, so the node falls back.
Status RequireFloat32(const KernelInfo& info, size_t input, const char* what);

/// Reads a window attribute of a 1-D or 2-D op (strides, dilations: per_dim 1; pads: per_dim 2,
/// begins then ends) into the 2-D layout dst[p * 2 + d], a 1-D op's values going to the W slot.
/// Leaves dst as it is when the attribute is absent; NotImplemented on a bad count or a value
/// below `min` (or absurdly large).
Status ReadWindowAttr(const KernelInfo& info, const char* name, size_t nd, size_t per_dim,
                      int64_t min, int64_t* dst);

/// Reads the `activation` / `activation_params` attributes of a fused op into `e` (kNone when
/// absent). Unknown names and missing parameters answer NotImplemented.
Status ParseFusedActivation(const KernelInfo& info, Epilogue* e);

/// The packing and microkernel choice of this process (BestF32GemmUkernel()).
const F32GemmUkernelInfo& GemmUkernel();

/// The elementwise microkernels of this process (BestF32ElementwiseUkernels()).
const F32ElementwiseUkernels& ElementwiseUkernels();

/// Calls fn(begin, end) over [0, n), split into pieces of at least `grain` items over the pool
/// when there is enough work for more than one thread; inline otherwise.
void ParallelRange(ThreadPool* pool, int64_t n, int64_t grain,
                   const std::function<void(int64_t, int64_t)>& fn);

/// The reference provider's kernel for the same node: cpu kernels keep one when a case they do
/// not handle can only be seen at run time (an unusual shape or a run-time parameter).
Result<std::unique_ptr<OpKernel>> MakeRefKernel(const KernelInfo& info);

}  // namespace tern::cpu
