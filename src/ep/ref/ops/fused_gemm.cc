// ai.tern FusedGemm: Gemm followed by an activation (see ep/ref/fused_util.h for the contract).
#include "ep/ref/fused_util.h"

namespace tern::ref {
namespace {

Result<std::unique_ptr<OpKernel>> CreateFusedGemm(const KernelInfo& info) {
  return CreateFused(info, "Gemm");
}

}  // namespace

void Register_fused_gemm(KernelRegistry& r) { r.Add("ai.tern", "FusedGemm", CreateFusedGemm); }

}  // namespace tern::ref
