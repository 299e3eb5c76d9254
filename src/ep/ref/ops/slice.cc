// Slice: starts/ends/axes as attributes before opset 10; starts/ends/axes/steps as inputs from
// opset 10. Out-of-range starts and ends are clamped; negative steps walk backwards.
#include <limits>

#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class SliceKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    from_attrs_ = info.opset() < 10;
    if (from_attrs_) {
      if (!info.has_attr("starts") || !info.has_attr("ends"))
        return info.Error(StatusCode::kInvalidModel, "Slice needs starts and ends");
      starts_ = info.GetInts("starts");
      ends_ = info.GetInts("ends");
      has_axes_ = info.has_attr("axes");
      axes_ = info.GetInts("axes");
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    const Tensor& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<int64_t> starts = starts_, ends = ends_, axes = axes_, steps;
    bool has_axes = has_axes_;
    if (!from_attrs_) {
      TERN_ASSIGN_OR_RETURN(starts, ReadIntInput(ctx, 1, "starts"));
      TERN_ASSIGN_OR_RETURN(ends, ReadIntInput(ctx, 2, "ends"));
      if (ctx.has_input(3)) {
        TERN_ASSIGN_OR_RETURN(axes, ReadIntInput(ctx, 3, "axes"));
        has_axes = true;
      }
      if (ctx.has_input(4)) {
        TERN_ASSIGN_OR_RETURN(steps, ReadIntInput(ctx, 4, "steps"));
      }
    }
    const size_t n = starts.size();
    if (ends.size() != n || (has_axes && axes.size() != n) || (!steps.empty() && steps.size() != n))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "starts, ends, axes and steps must have the same length");
    if (!has_axes) {
      axes.resize(n);
      for (size_t i = 0; i < n; ++i) axes[i] = static_cast<int64_t>(i);
    }
    if (steps.empty()) steps.assign(n, 1);
    auto norm = NormalizeAxes(axes, rank);
    if (!norm.ok()) return norm.status().WithContext(ctx.node().Describe());

    std::vector<int64_t> start(rank, 0), step(rank, 1);
    Shape out_shape = x.shape();
    for (size_t i = 0; i < n; ++i) {
      const int64_t a = (*norm)[i];
      const int64_t d = x.dim(a);
      const int64_t st = steps[i];
      if (st == 0) return ctx.Error(StatusCode::kInvalidArgument, "slice step cannot be 0");
      int64_t s = starts[i], e = ends[i];
      if (s < 0) s += d;
      if (e < 0) e += d;
      int64_t count;
      if (st > 0) {
        s = std::clamp<int64_t>(s, 0, d);
        e = std::clamp<int64_t>(e, 0, d);
        count = e > s ? 1 + (e - s - 1) / st : 0;
      } else {
        s = std::clamp<int64_t>(s, 0, d - 1);
        e = std::clamp<int64_t>(e, -1, d - 1);
        // -st may overflow for INT64_MIN; any step beyond the axis size takes one element.
        const int64_t mag = st == std::numeric_limits<int64_t>::min() ? d + 1 : -st;
        count = s > e ? 1 + (s - e - 1) / mag : 0;
      }
      start[a] = s;
      step[a] = st;
      out_shape[a] = count;
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    const std::vector<int64_t> strides = Strides(x.shape());
    ElemCopier copy(x.dtype());
    int64_t base = 0;
    for (int64_t d = 0; d < rank; ++d) base += start[d] * strides[d];
    ForEachIndex(out_shape, [&](int64_t i, const int64_t* c) {
      int64_t off = base;
      for (int64_t d = 0; d < rank; ++d) off += c[d] * step[d] * strides[d];
      copy(out->raw(), i, x.raw(), off);
    });
    return Status::Ok();
  }

 private:
  bool from_attrs_ = false;
  bool has_axes_ = false;
  std::vector<int64_t> starts_, ends_, axes_;
};

}  // namespace

void Register_slice(KernelRegistry& r) { r.Add("", "Slice", Create<SliceKernel>); }

}  // namespace tern::ref
