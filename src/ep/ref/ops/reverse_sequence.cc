// ReverseSequence: for each batch entry b, reverses the first sequence_lens[b] steps along the
// time axis and copies the rest. time_axis and batch_axis are 0 and 1 in either order.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class ReverseSequenceKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    time_axis_ = info.GetInt("time_axis", 0);
    batch_axis_ = info.GetInt("batch_axis", 1);
    if (!((time_axis_ == 0 && batch_axis_ == 1) || (time_axis_ == 1 && batch_axis_ == 0)))
      return info.Error(StatusCode::kInvalidModel,
                        "time_axis and batch_axis must be 0 and 1 in some order");
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "input"));
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2) return ctx.Error(StatusCode::kInvalidArgument, "input must have rank >= 2");
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "sequence_lens"));
    TERN_RETURN_IF_ERROR(CheckIndexType(ctx, ctx.input(1), "sequence_lens"));
    TERN_ASSIGN_OR_RETURN(std::vector<int64_t> lens, ReadIntInput(ctx, 1, "sequence_lens"));
    const int64_t T = x.dim(time_axis_), B = x.dim(batch_axis_);
    if (static_cast<int64_t>(lens.size()) != B)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "sequence_lens has " + std::to_string(lens.size()) +
                           " entries for batch size " + std::to_string(B));
    for (int64_t l : lens)
      if (l < 0 || l > T)
        return ctx.Error(StatusCode::kOutOfRange, "sequence length " + std::to_string(l) +
                                                      " is outside [0, " + std::to_string(T) + "]");
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
    const int64_t inner = x.shape().Product(2, x.rank());
    const int64_t t_stride = (time_axis_ == 0 ? B : 1) * inner;
    const int64_t b_stride = (batch_axis_ == 0 ? T : 1) * inner;
    ElemCopier copy(x.dtype());
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t src_t = t < lens[b] ? lens[b] - 1 - t : t;
        copy(out->raw(), b * b_stride + t * t_stride, x.raw(), b * b_stride + src_t * t_stride,
             inner);
      }
    return Status::Ok();
  }

 private:
  int64_t time_axis_ = 0, batch_axis_ = 1;
};

}  // namespace

void Register_reverse_sequence(KernelRegistry& r) {
  r.Add("", "ReverseSequence", Create<ReverseSequenceKernel>);
}

}  // namespace tern::ref
