// Expand (numpy broadcast of the input to a shape) and Tile (repeat along each axis).
// Every dtype, strings included.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class ExpandKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "input"));
    const Tensor& x = ctx.input(0);
    TERN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, ReadIntInput(ctx, 1, "shape"));
    for (int64_t d : dims)
      if (d < 0)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "negative dimension " + std::to_string(d) + " in shape");
    const Shape target(dims);
    auto bs = BroadcastShapes({&x.shape(), &target});
    if (!bs.ok()) return bs.status().WithContext(ctx.node().Describe());
    const Shape out_shape = *bs;
    {
      auto n = CheckedNumElements(out_shape.ToVector(), "Expand output");
      if (!n.ok()) return n.status().WithContext(ctx.node().Describe());
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    ElemCopier copy(x.dtype());
    BroadcastIterator it(out_shape, {&x.shape()});
    it.ForEach([&](int64_t i, const int64_t* off) { copy(out->raw(), i, x.raw(), off[0]); });
    return Status::Ok();
  }
};

class TileKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "input"));
    const Tensor& x = ctx.input(0);
    TERN_ASSIGN_OR_RETURN(std::vector<int64_t> reps, ReadIntInput(ctx, 1, "repeats"));
    if (reps.size() != x.rank())
      return ctx.Error(StatusCode::kInvalidArgument, "repeats has " + std::to_string(reps.size()) +
                                                         " entries for rank " +
                                                         std::to_string(x.rank()));
    std::vector<int64_t> dims(x.rank());
    for (size_t d = 0; d < x.rank(); ++d) {
      if (reps[d] < 0) return ctx.Error(StatusCode::kInvalidArgument, "repeats must be >= 0");
      auto m = CheckedMul(x.dim(d), reps[d], "Tile output");
      if (!m.ok()) return m.status().WithContext(ctx.node().Describe());
      dims[d] = *m;
    }
    {
      auto n = CheckedNumElements(dims, "Tile output");
      if (!n.ok()) return n.status().WithContext(ctx.node().Describe());
    }
    const Shape out_shape(dims);
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    const std::vector<int64_t> strides = Strides(x.shape());
    const size_t rank = x.rank();
    ElemCopier copy(x.dtype());
    ForEachIndex(out_shape, [&](int64_t i, const int64_t* c) {
      int64_t off = 0;
      for (size_t d = 0; d < rank; ++d) off += (c[d] % x.dim(d)) * strides[d];
      copy(out->raw(), i, x.raw(), off);
    });
    return Status::Ok();
  }
};

}  // namespace

void Register_expand_tile(KernelRegistry& r) {
  r.Add("", "Expand", Create<ExpandKernel>);
  r.Add("", "Tile", Create<TileKernel>, 6);
}

}  // namespace tern::ref
