// ConcatFromSequence: concatenates the tensors of a sequence along `axis`, or stacks them along a
// new axis when new_axis=1.
#include "ep/ref/control_util.h"

namespace tern::ref {
namespace {

class ConcatFromSequenceKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    if (!info.has_attr("axis"))
      return info.Error(StatusCode::kInvalidModel, "attribute 'axis' is required");
    axis_ = info.GetInt("axis", 0);
    const int64_t na = info.GetInt("new_axis", 0);
    if (na != 0 && na != 1) return info.Error(StatusCode::kInvalidModel, "new_axis must be 0 or 1");
    new_axis_ = na == 1;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Value* sv = ctx.input_value(0);
    if (!sv || !sv->is_sequence())
      return ctx.Error(StatusCode::kInvalidArgument, "input must be a sequence");
    const auto& items = sv->sequence;
    if (items.empty())
      return ctx.Error(StatusCode::kInvalidArgument, "cannot concatenate an empty sequence");
    const Tensor& first = items[0];
    const int64_t rank = static_cast<int64_t>(first.rank());
    const int64_t out_rank = new_axis_ ? rank + 1 : rank;
    if (out_rank == 0) return ctx.Error(StatusCode::kInvalidArgument, "cannot concatenate scalars");
    TERN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, out_rank));
    // View every item with an explicit axis of size 1 when stacking.
    int64_t total = 0;
    for (const Tensor& t : items) {
      if (t.dtype() != first.dtype() || static_cast<int64_t>(t.rank()) != rank)
        return ctx.Error(StatusCode::kInvalidArgument, "sequence items differ in type or rank");
      for (int64_t d = 0; d < rank; ++d) {
        if (!new_axis_ && d == axis) continue;
        if (t.dim(static_cast<size_t>(d)) != first.dim(static_cast<size_t>(d)))
          return ctx.Error(StatusCode::kInvalidArgument, "cannot concatenate shapes " +
                                                             first.shape().ToString() + " and " +
                                                             t.shape().ToString());
      }
      total += new_axis_ ? 1 : t.dim(static_cast<size_t>(axis));
    }
    Shape out_shape = new_axis_ ? InsertDim(first.shape(), axis, total) : first.shape();
    if (!new_axis_) out_shape[static_cast<size_t>(axis)] = total;
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, first.dtype(), out_shape));
    const int64_t outer = out_shape.Product(0, static_cast<size_t>(axis));
    const int64_t inner = out_shape.Product(static_cast<size_t>(axis) + 1, out_shape.rank());
    int64_t offset = 0;
    for (const Tensor& t : items) {
      const int64_t len = new_axis_ ? 1 : t.dim(static_cast<size_t>(axis));
      for (int64_t o = 0; o < outer; ++o)
        CopyElements(t.dtype(), out->raw(), (o * total + offset) * inner, t.raw(), o * len * inner,
                     len * inner);
      offset += len;
    }
    return Status::Ok();
  }

 private:
  int64_t axis_ = 0;
  bool new_axis_ = false;
};

}  // namespace

void Register_concat_from_sequence(KernelRegistry& r) {
  r.Add("", "ConcatFromSequence", Create<ConcatFromSequenceKernel>, 11);
}

}  // namespace tern::ref
