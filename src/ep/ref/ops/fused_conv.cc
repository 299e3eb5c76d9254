// ai.tern FusedConv: Conv followed by an activation (see ep/ref/fused_util.h for the contract).
#include "ep/ref/fused_util.h"

namespace tern::ref {
namespace {

Result<std::unique_ptr<OpKernel>> CreateFusedConv(const KernelInfo& info) {
  return CreateFused(info, "Conv");
}

}  // namespace

void Register_fused_conv(KernelRegistry& r) { r.Add("ai.tern", "FusedConv", CreateFusedConv); }

}  // namespace tern::ref
