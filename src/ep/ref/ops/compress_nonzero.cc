// Compress (select slices along an axis, or elements of the flattened input, where a bool
// condition is true) and NonZero (coordinates of the non-zero elements, row-major order).
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class CompressKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    has_axis_ = info.has_attr("axis");
    axis_ = info.GetInt("axis", 0);
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "input"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "condition"));
    const Tensor& x = ctx.input(0);
    const Tensor& cond = ctx.input(1);
    if (cond.dtype() != DataType::kBool || cond.rank() != 1)
      return ctx.Error(StatusCode::kInvalidArgument, "condition must be a 1-D bool tensor");
    int64_t outer = 1, dim = x.numel(), inner = 1;
    size_t axis = 0;
    if (has_axis_) {
      const int64_t rank = static_cast<int64_t>(x.rank());
      if (rank == 0) return ctx.Error(StatusCode::kInvalidArgument, "input must have rank >= 1");
      auto axis_r = NormalizeAxis(axis_, rank);
      if (!axis_r.ok()) return axis_r.status().WithContext(ctx.node().Describe());
      axis = static_cast<size_t>(*axis_r);
      outer = x.shape().Product(0, axis);
      dim = x.dim(axis);
      inner = x.shape().Product(axis + 1, x.rank());
    }
    if (cond.numel() > dim)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "condition has " + std::to_string(cond.numel()) +
                           " entries, more than the " + std::to_string(dim) + " to select from");
    std::vector<int64_t> keep;
    for (int64_t i = 0; i < cond.numel(); ++i)
      if (cond.data<bool>()[i]) keep.push_back(i);
    const int64_t n = static_cast<int64_t>(keep.size());
    Shape out_shape;
    if (has_axis_) {
      out_shape = x.shape();
      out_shape[axis] = n;
    } else {
      out_shape = Shape{n};
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    ElemCopier copy(x.dtype());
    int64_t pos = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k : keep) {
        copy(out->raw(), pos, x.raw(), (o * dim + k) * inner, inner);
        pos += inner;
      }
    return Status::Ok();
  }

 private:
  bool has_axis_ = false;
  int64_t axis_ = 0;
};

class NonZeroKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "X"));
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> hits;
    TERN_RETURN_IF_ERROR(Visit<kNumeric | kBoolType>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* p = x.data<T>();
      for (int64_t i = 0; i < x.numel(); ++i)
        if (static_cast<AccT<T>>(p[i]) != AccT<T>(0)) hits.push_back(i);
      return Status::Ok();
    }));
    // A scalar is treated as a 1-element vector, like numpy.
    const Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
    const int64_t rank = static_cast<int64_t>(shape.rank());
    const int64_t n = static_cast<int64_t>(hits.size());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kInt64, Shape{rank, n}));
    int64_t* o = out->data<int64_t>();
    for (int64_t j = 0; j < n; ++j) {
      int64_t flat = hits[j];
      for (int64_t d = rank - 1; d >= 0; --d) {
        o[d * n + j] = flat % shape[d];
        flat /= shape[d];
      }
    }
    return Status::Ok();
  }
};

}  // namespace

void Register_compress_nonzero(KernelRegistry& r) {
  r.Add("", "Compress", Create<CompressKernel>);
  r.Add("", "NonZero", Create<NonZeroKernel>);
}

}  // namespace tern::ref
