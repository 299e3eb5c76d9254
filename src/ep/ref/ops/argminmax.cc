// ArgMax, ArgMin: int64 index of the largest (smallest) element along `axis`; the first
// occurrence, or the last with select_last_index (opset 12+). A NaN counts as the extreme value,
// as in numpy. Reducing an empty axis is an error (there is no index to return).
#include "ep/ref/reduce_util.h"

namespace tern::ref {
namespace {

template <bool IsMax>
class ArgKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", 0);
    const int64_t keepdims = info.GetInt("keepdims", 1);
    const int64_t last = info.GetInt("select_last_index", 0);
    if ((keepdims != 0 && keepdims != 1) || (last != 0 && last != 1))
      return info.Error(StatusCode::kInvalidModel, "keepdims and select_last_index must be 0 or 1");
    keepdims_ = keepdims == 1;
    select_last_ = last == 1;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "missing input data");
    const Tensor& x = ctx.input(0);
    if (x.rank() == 0) return ctx.Error(StatusCode::kInvalidArgument, "input must have rank >= 1");
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (axis_ < -rank || axis_ >= rank)
      return ctx.Error(
          StatusCode::kOutOfRange,
          "axis " + std::to_string(axis_) + " is out of range for rank " + std::to_string(rank));
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + rank : axis_);
    std::vector<bool> mask(x.rank(), false);
    mask[axis] = true;
    const Shape out_shape = ReducedShape(x.shape(), mask, keepdims_);
    bool out_empty = false;
    for (size_t d = 0; d < x.rank(); ++d) out_empty |= d != axis && x.dim(d) == 0;
    if (x.dim(axis) == 0 && !out_empty)
      return ctx.Error(
          StatusCode::kInvalidArgument,
          "cannot take the arg" + std::string(IsMax ? "max" : "min") + " of an empty axis");
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kInt64, out_shape));
    if (out_empty) return Status::Ok();
    int64_t outer, n, inner;
    SplitAtAxis(x.shape(), axis, &outer, &n, &inner);
    int64_t* po = out->data<int64_t>();
    return Visit<kNumeric>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = AccT<T>;
      const T* px = x.data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        for (int64_t i = 0; i < inner; ++i) {
          const T* base = px + o * n * inner + i;
          int64_t best = 0;
          C bv = static_cast<C>(base[0]);
          for (int64_t k = 1; k < n; ++k) {
            const C v = static_cast<C>(base[k * inner]);
            if (Better(v, bv)) {
              best = k;
              bv = v;
            }
          }
          po[o * inner + i] = best;
        }
      }
      return Status::Ok();
    });
  }

 private:
  // True when v (a later element) should replace the current best b.
  template <typename C>
  bool Better(C v, C b) const {
    if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(b)) return select_last_ && std::isnan(v);
      if (std::isnan(v)) return true;
    }
    if (v == b) return select_last_;
    return IsMax ? v > b : v < b;
  }

  int64_t axis_ = 0;
  bool keepdims_ = true;
  bool select_last_ = false;
};

}  // namespace

void Register_argminmax(KernelRegistry& r) {
  r.Add("", "ArgMax", Create<ArgKernel<true>>);
  r.Add("", "ArgMin", Create<ArgKernel<false>>);
}

}  // namespace tern::ref
