// The optimized CPU provider: SIMD microkernels picked at run time from CPU features, weights
// packed once at load, the session's thread pool. It runs what it has kernels for (float32 Conv,
// Gemm, MatMul and their fused forms) and answers NotImplemented, with the reason, for the rest so
// that those nodes fall back to the reference provider.
#pragma once

#include <memory>

#include "ep/provider.h"

namespace tern {

/// The cpu provider's registry (built once, read-only afterwards).
const KernelRegistry& CpuKernelRegistry();

/// A new cpu provider ("cpu").
std::shared_ptr<ExecutionProvider> MakeCpuProvider();

}  // namespace tern
