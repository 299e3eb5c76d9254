// OneHot: indices (any numeric type) become one-hot vectors of length depth inserted at `axis`,
// filled with values = [off_value, on_value]. Negative indices count from depth; indices outside
// [-depth, depth) give all-off vectors, as the spec says.
#include <cmath>

#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

constexpr double kMaxDepth = 9.0e15;  ///< keeps depth exact as int64 and bounded

class OneHotKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", -1);
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "indices"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "depth"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 2, "values"));
    const Tensor& ind = ctx.input(0);
    const Tensor& dep = ctx.input(1);
    const Tensor& vals = ctx.input(2);
    if (dep.numel() != 1)
      return ctx.Error(StatusCode::kInvalidArgument, "depth must have one element");
    if (vals.numel() != 2)
      return ctx.Error(StatusCode::kInvalidArgument, "values must have two elements");
    if (!IsNumber(ind.dtype()) || !IsNumber(dep.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "indices and depth must be numeric");
    const double dd = ReadAsDouble(dep, 0);
    if (!(dd >= 1) || dd > kMaxDepth)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "depth must be a positive number, got " + std::to_string(dd));
    const int64_t depth = static_cast<int64_t>(dd);
    const int64_t r = static_cast<int64_t>(ind.rank());
    if (axis_ < -(r + 1) || axis_ > r)
      return ctx.Error(StatusCode::kOutOfRange, "axis " + std::to_string(axis_) +
                                                    " is out of range for output rank " +
                                                    std::to_string(r + 1));
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + r + 1 : axis_);
    std::vector<int64_t> dims = ind.shape().ToVector();
    dims.insert(dims.begin() + static_cast<std::ptrdiff_t>(axis), depth);
    {
      auto n = CheckedNumElements(dims, "OneHot output");
      if (!n.ok()) return n.status().WithContext(ctx.node().Describe());
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, vals.dtype(), Shape(dims)));
    const int64_t outer = ind.shape().Product(0, axis);
    const int64_t inner = ind.shape().Product(axis, ind.rank());
    // The hot position of each index (-1: none).
    std::vector<int64_t> hot(static_cast<size_t>(ind.numel()), -1);
    for (int64_t k = 0; k < ind.numel(); ++k) {
      const double v = ReadAsDouble(ind, k);
      if (v >= -dd && v < dd) {
        int64_t idx = static_cast<int64_t>(v);  // truncates fractional float indices
        hot[k] = idx < 0 ? idx + depth : idx;
      }
    }
    ElemCopier copy(vals.dtype());
    int64_t pos = 0;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t d = 0; d < depth; ++d)
        for (int64_t i = 0; i < inner; ++i)
          copy(out->raw(), pos++, vals.raw(), hot[o * inner + i] == d ? 1 : 0);
    return Status::Ok();
  }

 private:
  static bool IsNumber(DataType t) {
    return t != DataType::kString && t != DataType::kBool && t != DataType::kUndefined &&
           t != DataType::kComplex64 && t != DataType::kComplex128;
  }
  int64_t axis_ = -1;
};

}  // namespace

void Register_onehot(KernelRegistry& r) { r.Add("", "OneHot", Create<OneHotKernel>); }

}  // namespace tern::ref
