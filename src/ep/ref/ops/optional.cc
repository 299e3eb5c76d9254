// Optional, OptionalHasElement, OptionalGetElement.
#include "ep/ref/control_util.h"

namespace tern::ref {
namespace {

class OptionalKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    if (!info.has_input(0) && !info.has_attr("type"))
      return info.Error(StatusCode::kInvalidModel,
                        "an Optional without input needs the 'type' attribute");
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.SetOutput(0, Value::EmptyOptional());
    TERN_ASSIGN_OR_RETURN(Value v, OwnValue(*ctx.input_value(0)));
    v.optional = true;
    return ctx.SetOutput(0, std::move(v));
  }
};

class OptionalHasElementKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kBool, Shape{}));
    out->data<bool>()[0] = ctx.has_input(0);
    return Status::Ok();
  }
};

class OptionalGetElementKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0))
      return ctx.Error(StatusCode::kInvalidArgument, "the optional input is empty");
    const Value* v = ctx.input_value(0);
    if (v->is_tensor()) return ctx.AliasInput(0, 0, v->tensor.shape());
    Value out = *v;
    out.optional = false;
    return ctx.SetOutput(0, std::move(out));
  }
};

}  // namespace

void Register_optional(KernelRegistry& r) {
  r.Add("", "Optional", Create<OptionalKernel>, 15);
  r.Add("", "OptionalHasElement", Create<OptionalHasElementKernel>, 15);
  r.Add("", "OptionalGetElement", Create<OptionalGetElementKernel>, 15);
}

}  // namespace tern::ref
