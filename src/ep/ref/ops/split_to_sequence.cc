// SplitToSequence: splits a tensor along `axis` into a sequence. Without `split`, into pieces of
// size 1 (squeezed when keepdims=0); with a scalar `split`, into chunks of that size (the last may
// be smaller); with a 1-D `split`, into pieces of the given lengths.
#include "ep/ref/control_util.h"

namespace tern::ref {
namespace {

class SplitToSequenceKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", 0);
    keepdims_ = info.GetInt("keepdims", 1) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Value* xv = ctx.input_value(0);
    if (!xv || !xv->is_tensor())
      return ctx.Error(StatusCode::kInvalidArgument, "input must be a tensor");
    const Tensor& x = xv->tensor;
    if (x.rank() == 0) return ctx.Error(StatusCode::kInvalidArgument, "input must not be a scalar");
    TERN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, static_cast<int64_t>(x.rank())));
    const int64_t dim = x.dim(axis);
    std::vector<int64_t> lengths;
    bool squeeze = false;
    constexpr int64_t kMaxPieces = int64_t{1} << 24;
    if (!ctx.has_input(1)) {
      if (dim > kMaxPieces)
        return ctx.Error(StatusCode::kResourceExhausted,
                         "splitting " + std::to_string(dim) + " items is too many");
      lengths.assign(static_cast<size_t>(dim), 1);
      squeeze = !keepdims_;
    } else {
      const Value* sv = ctx.input_value(1);
      if (!sv->is_tensor() || sv->tensor.rank() > 1)
        return ctx.Error(StatusCode::kInvalidArgument, "split must be a scalar or 1-D tensor");
      TERN_ASSIGN_OR_RETURN(auto split, ReadInts(sv->tensor, "split"));
      if (sv->tensor.rank() == 0) {
        const int64_t chunk = split[0];
        if (chunk <= 0)
          return ctx.Error(StatusCode::kInvalidArgument,
                           "split must be positive, got " + std::to_string(chunk));
        if (dim / chunk > kMaxPieces)
          return ctx.Error(StatusCode::kResourceExhausted, "split produces too many pieces");
        for (int64_t left = dim; left > 0; left -= chunk) lengths.push_back(std::min(chunk, left));
      } else {
        int64_t sum = 0;
        for (int64_t l : split) {
          if (l < 0 || l > dim)
            return ctx.Error(StatusCode::kInvalidArgument,
                             "split length " + std::to_string(l) + " is invalid");
          sum += l;
        }
        if (sum != dim)
          return ctx.Error(StatusCode::kInvalidArgument,
                           "split lengths sum to " + std::to_string(sum) + ", the axis has " +
                               std::to_string(dim));
        lengths = split;
      }
    }
    const Shape& s = x.shape();
    const int64_t outer = s.Product(0, axis);
    const int64_t inner = s.Product(axis + 1, s.rank());
    std::vector<Tensor> items;
    items.reserve(lengths.size());
    int64_t start = 0;
    for (int64_t len : lengths) {
      Shape ps;
      for (size_t d = 0; d < s.rank(); ++d) {
        if (static_cast<int64_t>(d) == axis) {
          if (!squeeze) ps.push_back(len);
        } else {
          ps.push_back(s[d]);
        }
      }
      TERN_ASSIGN_OR_RETURN(Tensor piece, Tensor::Allocate(x.dtype(), ps));
      for (int64_t o = 0; o < outer; ++o)
        CopyElements(x.dtype(), piece.raw(), o * len * inner, x.raw(), (o * dim + start) * inner,
                     len * inner);
      items.push_back(std::move(piece));
      start += len;
    }
    return ctx.SetOutput(0, Value::Sequence(std::move(items), x.dtype()));
  }

 private:
  int64_t axis_ = 0;
  bool keepdims_ = true;
};

}  // namespace

void Register_split_to_sequence(KernelRegistry& r) {
  r.Add("", "SplitToSequence", Create<SplitToSequenceKernel>, 11);
}

}  // namespace tern::ref
