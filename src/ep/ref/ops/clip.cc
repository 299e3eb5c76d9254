// Clip: bounds from attributes (opsets 1, 6) or optional scalar inputs (11+).
// Computes min(max(x, lo), hi), so lo > hi gives hi everywhere, and NaN inputs stay NaN.
#include <limits>

#include "ep/ref/elem_util.h"

namespace tern::ref {
namespace {

/// Clip-1 and Clip-6: float bounds in the `min` and `max` attributes.
class ClipAttrKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    lo_ = info.GetFloat("min", std::numeric_limits<float>::lowest());
    hi_ = info.GetFloat("max", std::numeric_limits<float>::max());
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 1));
    const Tensor& x = ctx.input(0);
    if (!TypeInSet(kFloats, x.dtype())) return UnsupportedType(ctx, x.dtype());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = AccT<T>;
      const C lo = static_cast<C>(lo_);
      const C hi = static_cast<C>(hi_);
      ApplyUnary<T, T>(x, out,
                       [&](T v) { return static_cast<T>(std::min(std::max(ToAcc(v), lo), hi)); });
      return Status::Ok();
    });
  }

 private:
  float lo_ = 0;
  float hi_ = 0;
};

template <typename C>
C Lowest() {
  if constexpr (kIsFloat<C>) return -std::numeric_limits<C>::infinity();
  return std::numeric_limits<C>::lowest();
}

template <typename C>
C Highest() {
  if constexpr (kIsFloat<C>) return std::numeric_limits<C>::infinity();
  return std::numeric_limits<C>::max();
}

/// Clip-11 and later: optional scalar inputs `min` (1) and `max` (2) of the input's type.
class ClipKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 1));
    const Tensor& x = ctx.input(0);
    if (!TypeInSet(kNumeric, x.dtype())) return UnsupportedType(ctx, x.dtype());
    const Tensor* bounds[2] = {nullptr, nullptr};
    for (size_t k = 1; k <= 2; ++k) {
      if (!ctx.has_input(k)) continue;
      const Value* v = ctx.input_value(k);
      if (!v->is_tensor())
        return ctx.Error(StatusCode::kInvalidArgument,
                         k == 1 ? "min must be a tensor" : "max must be a tensor");
      const Tensor& t = v->tensor;
      TERN_RETURN_IF_ERROR(CheckSameType(ctx, x, t));
      if (t.numel() != 1)
        return ctx.Error(StatusCode::kInvalidArgument, std::string(k == 1 ? "min" : "max") +
                                                           " must be a scalar, got shape " +
                                                           t.shape().ToString());
      bounds[k - 1] = &t;
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kNumeric>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = AccT<T>;
      // A missing bound clips nothing (infinities for the float types, so inf stays inf).
      const C lo = bounds[0] ? ToAcc(bounds[0]->data<T>()[0]) : Lowest<C>();
      const C hi = bounds[1] ? ToAcc(bounds[1]->data<T>()[0]) : Highest<C>();
      ApplyUnary<T, T>(x, out,
                       [&](T v) { return static_cast<T>(std::min(std::max(ToAcc(v), lo), hi)); });
      return Status::Ok();
    });
  }
};

}  // namespace

void Register_clip(KernelRegistry& r) {
  r.Add("", "Clip", Create<ClipAttrKernel>, 1);
  r.Add("", "Clip", Create<ClipKernel>, 11);
}

}  // namespace tern::ref
