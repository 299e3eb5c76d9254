// Identity: the output is the input (tensors are viewed, not copied; sequences and optionals
// are passed through).
#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

class IdentityKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    const Value* v = ctx.input_value(0);
    if (v && v->is_tensor()) return ctx.AliasInput(0, 0, v->tensor.shape());
    return ctx.SetOutput(0, v ? *v : Value::EmptyOptional());
  }
};

}  // namespace

void Register_identity(KernelRegistry& r) { r.Add("", "Identity", Create<IdentityKernel>); }

}  // namespace tern::ref
