// Softmax, LogSoftmax, Hardmax on float types.
// Before opset 13 the input is coerced to 2-D at `axis` (default 1) and the op runs over each
// row of the flattened tail; from opset 13 it runs along the single axis `axis` (default -1).
// Softmax and LogSoftmax subtract the maximum and sum in double. Hardmax is 1 at the first
// maximum of each slice (a NaN counts as the maximum) and 0 elsewhere.
#include "ep/ref/reduce_util.h"

namespace tern::ref {
namespace {

enum class SmOp { kSoftmax, kLogSoftmax, kHardmax };

template <SmOp Op>
class SoftmaxKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    coerce_2d_ = info.opset() < 13;
    axis_ = info.GetInt("axis", coerce_2d_ ? 1 : -1);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "missing input");
    const Tensor& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    // Before opset 13 axis may also equal rank (an empty tail of size 1).
    const int64_t hi = coerce_2d_ ? rank : rank - 1;
    if (rank == 0 || axis_ < -rank || axis_ > hi)
      return ctx.Error(
          StatusCode::kOutOfRange,
          "axis " + std::to_string(axis_) + " is out of range for rank " + std::to_string(rank));
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + rank : axis_);
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
    if (x.numel() == 0) return Status::Ok();
    int64_t outer, n, inner;
    if (coerce_2d_) {
      outer = x.shape().Product(0, axis);
      n = x.shape().Product(axis, x.rank());
      inner = 1;
    } else {
      SplitAtAxis(x.shape(), axis, &outer, &n, &inner);
    }
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* po = out->data<T>();
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t base = o * n * inner + i;
          Slice<T>(px + base, po + base, n, inner);
        }
      return Status::Ok();
    });
  }

 private:
  // One slice of n elements, `stride` apart.
  template <typename T>
  static void Slice(const T* px, T* po, int64_t n, int64_t stride) {
    double mx = ToDouble(px[0]);
    int64_t arg = 0;
    for (int64_t k = 1; k < n; ++k) {
      const double v = ToDouble(px[k * stride]);
      if (!std::isnan(mx) && (std::isnan(v) || v > mx)) {
        mx = v;
        arg = k;
      }
    }
    if constexpr (Op == SmOp::kHardmax) {
      for (int64_t k = 0; k < n; ++k) po[k * stride] = FromDouble<T>(k == arg ? 1.0 : 0.0);
    } else {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) sum += std::exp(ToDouble(px[k * stride]) - mx);
      const double log_sum = std::log(sum);
      for (int64_t k = 0; k < n; ++k) {
        const double d = ToDouble(px[k * stride]) - mx;
        po[k * stride] = FromDouble<T>(Op == SmOp::kSoftmax ? std::exp(d) / sum : d - log_sum);
      }
    }
  }

  int64_t axis_ = -1;
  bool coerce_2d_ = false;
};

}  // namespace

void Register_softmax(KernelRegistry& r) {
  r.Add("", "Softmax", Create<SoftmaxKernel<SmOp::kSoftmax>>);
  r.Add("", "LogSoftmax", Create<SoftmaxKernel<SmOp::kLogSoftmax>>);
  r.Add("", "Hardmax", Create<SoftmaxKernel<SmOp::kHardmax>>);
}

}  // namespace tern::ref
