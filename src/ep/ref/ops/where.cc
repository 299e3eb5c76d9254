// Where: condition ? X : Y with numpy broadcasting of all three inputs. Every dtype for X and Y,
// strings included; the condition is bool.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class WhereKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "condition"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "X"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 2, "Y"));
    const Tensor& c = ctx.input(0);
    const Tensor& x = ctx.input(1);
    const Tensor& y = ctx.input(2);
    if (c.dtype() != DataType::kBool)
      return ctx.Error(StatusCode::kInvalidArgument, "condition must be bool");
    if (x.dtype() != y.dtype())
      return ctx.Error(StatusCode::kInvalidArgument, std::string("X and Y types differ: ") +
                                                         DataTypeName(x.dtype()) + " and " +
                                                         DataTypeName(y.dtype()));
    auto bs = BroadcastShapes({&c.shape(), &x.shape(), &y.shape()});
    if (!bs.ok()) return bs.status().WithContext(ctx.node().Describe());
    const Shape shape = *bs;
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), shape));
    ElemCopier copy(x.dtype());
    const bool* pc = c.data<bool>();
    BroadcastIterator it(shape, {&c.shape(), &x.shape(), &y.shape()});
    it.ForEach([&](int64_t i, const int64_t* off) {
      if (pc[off[0]])
        copy(out->raw(), i, x.raw(), off[1]);
      else
        copy(out->raw(), i, y.raw(), off[2]);
    });
    return Status::Ok();
  }
};

}  // namespace

void Register_where(KernelRegistry& r) { r.Add("", "Where", Create<WhereKernel>); }

}  // namespace tern::ref
