// Concat and Split along one axis. Every dtype, strings included.
// Split sizes come from the `split` attribute (opset < 13), the `split` input (opset >= 13), or
// are equal parts (num_outputs from opset 18: the last part may be smaller).
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class ConcatKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    if (!info.has_attr("axis") && info.opset() >= 4)
      return info.Error(StatusCode::kInvalidModel, "Concat needs the axis attribute");
    axis_ = info.GetInt("axis", 1);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const size_t n = ctx.num_inputs();
    if (n == 0) return ctx.Error(StatusCode::kInvalidArgument, "Concat needs inputs");
    for (size_t i = 0; i < n; ++i) TERN_RETURN_IF_ERROR(RequireInput(ctx, i, "inputs"));
    const Tensor& first = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(first.rank());
    if (rank == 0) return ctx.Error(StatusCode::kInvalidArgument, "cannot concat scalars");
    auto axis_r = NormalizeAxis(axis_, rank);
    if (!axis_r.ok()) return axis_r.status().WithContext(ctx.node().Describe());
    const size_t axis = static_cast<size_t>(*axis_r);
    Shape out_shape = first.shape();
    int64_t total = 0;
    for (size_t i = 0; i < n; ++i) {
      const Tensor& t = ctx.input(i);
      if (t.dtype() != first.dtype())
        return ctx.Error(StatusCode::kInvalidArgument, "inputs have different types");
      if (t.rank() != first.rank())
        return ctx.Error(StatusCode::kInvalidArgument, "inputs have different ranks");
      for (size_t d = 0; d < t.rank(); ++d)
        if (d != axis && t.dim(d) != first.dim(d))
          return ctx.Error(StatusCode::kInvalidArgument,
                           "input shapes " + first.shape().ToString() + " and " +
                               t.shape().ToString() + " differ outside the concat axis");
      total += t.dim(axis);
    }
    out_shape[axis] = total;
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, first.dtype(), out_shape));
    const int64_t outer = out_shape.Product(0, axis);
    const int64_t inner = out_shape.Product(axis + 1, out_shape.rank());
    ElemCopier copy(first.dtype());
    int64_t pos = 0;
    for (int64_t o = 0; o < outer; ++o) {
      for (size_t i = 0; i < n; ++i) {
        const Tensor& t = ctx.input(i);
        const int64_t block = t.dim(axis) * inner;
        copy(out->raw(), pos, t.raw(), o * block, block);
        pos += block;
      }
    }
    return Status::Ok();
  }

 private:
  int64_t axis_ = 1;
};

class SplitKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", 0);
    if (info.opset() < 13) {
      has_attr_split_ = info.has_attr("split");
      attr_split_ = info.GetInts("split");
    }
    split_from_input_ = info.opset() >= 13 || info.opset() < 2;
    num_outputs_ = info.GetInt("num_outputs", 0);
    if (info.has_attr("num_outputs") &&
        (num_outputs_ < 1 || num_outputs_ != static_cast<int64_t>(info.num_outputs())))
      return info.Error(StatusCode::kInvalidModel, "num_outputs " + std::to_string(num_outputs_) +
                                                       " does not match the node's " +
                                                       std::to_string(info.num_outputs()) +
                                                       " outputs");
    if (info.num_outputs() == 0)
      return info.Error(StatusCode::kInvalidModel, "Split needs outputs");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "input"));
    const Tensor& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0) return ctx.Error(StatusCode::kInvalidArgument, "cannot split a scalar");
    auto axis_r = NormalizeAxis(axis_, rank);
    if (!axis_r.ok()) return axis_r.status().WithContext(ctx.node().Describe());
    const size_t axis = static_cast<size_t>(*axis_r);
    const int64_t dim = x.dim(axis);
    const int64_t n = static_cast<int64_t>(ctx.num_outputs());
    std::vector<int64_t> split;
    bool given = false;
    if (has_attr_split_) {
      split = attr_split_;
      given = true;
    } else if (split_from_input_ && ctx.has_input(1)) {
      TERN_ASSIGN_OR_RETURN(split, ReadIntInput(ctx, 1, "split"));
      given = true;
    }
    if (given) {
      if (static_cast<int64_t>(split.size()) != n)
        return ctx.Error(StatusCode::kInvalidArgument, "split has " + std::to_string(split.size()) +
                                                           " entries for " + std::to_string(n) +
                                                           " outputs");
      int64_t sum = 0;
      for (int64_t s : split) {
        if (s < 0 || s > dim)
          return ctx.Error(StatusCode::kInvalidArgument, "invalid split size " + std::to_string(s));
        sum += s;
      }
      if (sum != dim)
        return ctx.Error(StatusCode::kInvalidArgument, "split sizes sum to " + std::to_string(sum) +
                                                           ", not the axis size " +
                                                           std::to_string(dim));
    } else if (num_outputs_ > 0) {
      const int64_t chunk = (dim + n - 1) / n;
      int64_t left = dim;
      for (int64_t i = 0; i < n; ++i) {
        split.push_back(std::min(chunk, left));
        left -= split.back();
      }
    } else {
      if (dim % n != 0)
        return ctx.Error(StatusCode::kInvalidArgument, "axis size " + std::to_string(dim) +
                                                           " does not split into " +
                                                           std::to_string(n) + " equal parts");
      split.assign(static_cast<size_t>(n), dim / n);
    }
    const int64_t outer = x.shape().Product(0, axis);
    const int64_t inner = x.shape().Product(axis + 1, x.rank());
    ElemCopier copy(x.dtype());
    int64_t start = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t s = split[i];
      if (ctx.output_wanted(i)) {
        Shape shape = x.shape();
        shape[axis] = s;
        TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(i, x.dtype(), shape));
        for (int64_t o = 0; o < outer; ++o)
          copy(out->raw(), o * s * inner, x.raw(), (o * dim + start) * inner, s * inner);
      }
      start += s;
    }
    return Status::Ok();
  }

 private:
  int64_t axis_ = 0;
  bool has_attr_split_ = false;
  bool split_from_input_ = false;
  int64_t num_outputs_ = 0;
  std::vector<int64_t> attr_split_;
};

}  // namespace

void Register_concat_split(KernelRegistry& r) {
  r.Add("", "Concat", Create<ConcatKernel>);
  r.Add("", "Split", Create<SplitKernel>);
}

}  // namespace tern::ref
