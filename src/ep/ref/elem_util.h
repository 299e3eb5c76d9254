// Shared helpers for the elementwise reference kernels (unary math, activations, comparisons,
// logical ops, variadic Min/Max/Sum/Mean, Where, Clip, Pow, Mod, Cast): input checks and
// broadcast loops. Everything is plain C++; the loops are written for clarity, not speed.
#pragma once

#include <limits>
#include <string>

#include "ep/ref/ref_common.h"

namespace tern::ref {

/// OK when inputs [0, n) are all given and are tensors; InvalidArgument naming the first one
/// that is missing otherwise.
Status CheckTensorInputs(const KernelContext& ctx, size_t n);

/// OK when `a` and `b` have the same element type; InvalidArgument naming both otherwise.
Status CheckSameType(const KernelContext& ctx, const Tensor& a, const Tensor& b);

/// "input types differ: float32 and int64"-style message for a type outside an op's type set.
Status UnsupportedType(const KernelContext& ctx, DataType type, const char* role = "input");

/// True when `type` belongs to the Visit type set `set`.
constexpr bool TypeInSet(unsigned set, DataType type) {
  switch (type) {
    case DataType::kFloat32:
    case DataType::kFloat64:
    case DataType::kFloat16:
    case DataType::kBFloat16:
      return (set & kFloats) != 0;
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
    case DataType::kInt64:
      return (set & kSigned) != 0;
    case DataType::kUInt8:
    case DataType::kUInt16:
    case DataType::kUInt32:
    case DataType::kUInt64:
      return (set & kUnsigned) != 0;
    case DataType::kBool:
      return (set & kBoolType) != 0;
    case DataType::kString:
      return (set & kStringType) != 0;
    default:
      return false;
  }
}

/// Converts an element to its arithmetic type (float for the 16-bit floats).
template <typename T>
inline AccT<T> ToAcc(T v) {
  return static_cast<AccT<T>>(v);
}

/// A float converted to an integer type without undefined behaviour: truncated toward zero,
/// saturated at the type's limits, NaN mapped to 0 (ONNX leaves these cases undefined).
template <typename I, typename F>
I SaturateToInt(F v) {
  if constexpr (std::is_same_v<I, bool>) {
    return v != F(0);
  } else {
    if (v != v) return I{0};
    if (v <= static_cast<F>(std::numeric_limits<I>::lowest()))
      return std::numeric_limits<I>::lowest();
    if (v >= static_cast<F>(std::numeric_limits<I>::max())) return std::numeric_limits<I>::max();
    return static_cast<I>(v);
  }
}

/// out[i] = fn(x[i]) for every element; `out` has the shape of `x`.
template <typename TI, typename TO, typename Fn>
void ApplyUnary(const Tensor& x, Tensor* out, Fn&& fn) {
  const TI* px = x.data<TI>();
  TO* po = out->data<TO>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; ++i) po[i] = fn(px[i]);
}

/// out[i] = fn(a[ia], b[ib]) over the numpy-broadcast of a and b (out already has that shape).
template <typename TA, typename TB, typename TO, typename Fn>
void ApplyBinary(const Tensor& a, const Tensor& b, Tensor* out, Fn&& fn) {
  const TA* pa = a.data<TA>();
  const TB* pb = b.data<TB>();
  TO* po = out->data<TO>();
  const Shape& s = out->shape();
  if (a.shape() == s && b.shape() == s) {
    const int64_t n = out->numel();
    for (int64_t i = 0; i < n; ++i) po[i] = fn(pa[i], pb[i]);
    return;
  }
  BroadcastIterator it(s, {&a.shape(), &b.shape()});
  it.ForEach([&](int64_t i, const int64_t* off) { po[i] = fn(pa[off[0]], pb[off[1]]); });
}

/// Attribute-free element functions derive from this.
struct NoAttrs {
  Status Init(const KernelInfo&) { return Status::Ok(); }
};

/// A one-input, one-output kernel with out = Op::Apply(x) in the arithmetic type of x.
/// `Op` provides kTypes (a TypeSet), `Status Init(const KernelInfo&)` (attributes) and
/// `template <typename C> C Apply(C x) const`.
template <typename Op>
class UnaryKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) { return op_.Init(info); }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 1));
    const Tensor& x = ctx.input(0);
    if (!TypeInSet(Op::kTypes, x.dtype())) return UnsupportedType(ctx, x.dtype());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<Op::kTypes>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      ApplyUnary<T, T>(x, out, [&](T v) { return static_cast<T>(op_.Apply(ToAcc(v))); });
      return Status::Ok();
    });
  }

 private:
  Op op_;
};

}  // namespace tern::ref
