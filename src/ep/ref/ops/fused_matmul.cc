// ai.tern FusedMatMul: MatMul followed by an activation (see ep/ref/fused_util.h for the contract).
#include "ep/ref/fused_util.h"

namespace tern::ref {
namespace {

Result<std::unique_ptr<OpKernel>> CreateFusedMatMul(const KernelInfo& info) {
  return CreateFused(info, "MatMul");
}

}  // namespace

void Register_fused_matmul(KernelRegistry& r) {
  r.Add("ai.tern", "FusedMatMul", CreateFusedMatMul);
}

}  // namespace tern::ref
