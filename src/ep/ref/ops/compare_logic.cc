// Broadcasting comparisons (Equal, Less, Greater, LessOrEqual, GreaterOrEqual -> bool),
// logical ops on bool (And, Or, Xor), BitShift on unsigned integers and the bitwise ops
// (BitwiseAnd, BitwiseOr, BitwiseXor on integers; BitwiseNot).
#include "ep/ref/elem_util.h"

namespace tern::ref {
namespace {

enum class Cmp { kEq, kLt, kGt, kLe, kGe };

template <Cmp Op, typename T>
bool Compare(const T& x, const T& y) {
  if constexpr (std::is_same_v<T, std::string>) {
    return x == y;  // strings only support Equal
  } else {
    const auto cx = ToAcc(x);
    const auto cy = ToAcc(y);
    switch (Op) {
      case Cmp::kEq:
        return cx == cy;
      case Cmp::kLt:
        return cx < cy;
      case Cmp::kGt:
        return cx > cy;
      case Cmp::kLe:
        return cx <= cy;
      case Cmp::kGe:
        return cx >= cy;
    }
    return false;
  }
}

template <Cmp Op>
class CompareKernel : public SimpleKernel {
 public:
  // Equal also takes bool (opset 11+) and string (opset 19+); the orderings are numeric.
  static constexpr unsigned kTypes =
      Op == Cmp::kEq ? (kNumeric | kBoolType | kStringType) : kNumeric;

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 2));
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    TERN_RETURN_IF_ERROR(CheckSameType(ctx, a, b));
    if (!TypeInSet(kTypes, a.dtype())) return UnsupportedType(ctx, a.dtype());
    auto shape = BroadcastShapes({&a.shape(), &b.shape()});
    if (!shape.ok()) return ctx.Error(StatusCode::kInvalidArgument, shape.status().message());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kBool, *shape));
    return Visit<kTypes>(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      ApplyBinary<T, T, bool>(a, b, out, [](const T& x, const T& y) { return Compare<Op>(x, y); });
      return Status::Ok();
    });
  }
};

enum class Bits { kAnd, kOr, kXor };

/// And/Or/Xor on bool (Logical) and BitwiseAnd/Or/Xor on integers (Bitwise).
template <Bits Op, unsigned Types>
class BitsKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 2));
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    TERN_RETURN_IF_ERROR(CheckSameType(ctx, a, b));
    if (!TypeInSet(Types, a.dtype())) return UnsupportedType(ctx, a.dtype());
    auto shape = BroadcastShapes({&a.shape(), &b.shape()});
    if (!shape.ok()) return ctx.Error(StatusCode::kInvalidArgument, shape.status().message());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, a.dtype(), *shape));
    return Visit<Types>(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      ApplyBinary<T, T, T>(a, b, out, [](T x, T y) -> T {
        if constexpr (std::is_same_v<T, bool>) {
          if constexpr (Op == Bits::kAnd) return x && y;
          if constexpr (Op == Bits::kOr) return x || y;
          return x != y;  // kXor
        } else {
          if constexpr (Op == Bits::kAnd) return static_cast<T>(x & y);
          if constexpr (Op == Bits::kOr) return static_cast<T>(x | y);
          return static_cast<T>(x ^ y);  // kXor
        }
      });
      return Status::Ok();
    });
  }
};

class BitwiseNotKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 1));
    const Tensor& x = ctx.input(0);
    if (!TypeInSet(kSigned | kUnsigned, x.dtype())) return UnsupportedType(ctx, x.dtype());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kSigned | kUnsigned>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      ApplyUnary<T, T>(x, out, [](T v) { return static_cast<T>(~v); });
      return Status::Ok();
    });
  }
};

/// BitShift: x << y or x >> y on unsigned integers; shifting by the bit width or more gives 0.
class BitShiftKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const std::string dir = info.GetString("direction", "");
    if (dir == "LEFT") {
      left_ = true;
    } else if (dir == "RIGHT") {
      left_ = false;
    } else {
      return info.Error(StatusCode::kInvalidArgument,
                        "direction must be \"LEFT\" or \"RIGHT\", got \"" + dir + "\"");
    }
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 2));
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    TERN_RETURN_IF_ERROR(CheckSameType(ctx, a, b));
    if (!TypeInSet(kUnsigned, a.dtype())) return UnsupportedType(ctx, a.dtype());
    auto shape = BroadcastShapes({&a.shape(), &b.shape()});
    if (!shape.ok()) return ctx.Error(StatusCode::kInvalidArgument, shape.status().message());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, a.dtype(), *shape));
    const bool left = left_;
    return Visit<kUnsigned>(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      constexpr T kBits = static_cast<T>(sizeof(T) * 8);
      ApplyBinary<T, T, T>(a, b, out, [left](T x, T s) -> T {
        if (s >= kBits) return T{0};
        return left ? static_cast<T>(x << s) : static_cast<T>(x >> s);
      });
      return Status::Ok();
    });
  }

 private:
  bool left_ = true;
};

}  // namespace

void Register_compare_logic(KernelRegistry& r) {
  r.Add("", "Equal", Create<CompareKernel<Cmp::kEq>>);
  r.Add("", "Less", Create<CompareKernel<Cmp::kLt>>);
  r.Add("", "Greater", Create<CompareKernel<Cmp::kGt>>);
  r.Add("", "LessOrEqual", Create<CompareKernel<Cmp::kLe>>);
  r.Add("", "GreaterOrEqual", Create<CompareKernel<Cmp::kGe>>);
  r.Add("", "And", Create<BitsKernel<Bits::kAnd, kBoolType>>);
  r.Add("", "Or", Create<BitsKernel<Bits::kOr, kBoolType>>);
  r.Add("", "Xor", Create<BitsKernel<Bits::kXor, kBoolType>>);
  r.Add("", "BitwiseAnd", Create<BitsKernel<Bits::kAnd, kSigned | kUnsigned>>);
  r.Add("", "BitwiseOr", Create<BitsKernel<Bits::kOr, kSigned | kUnsigned>>);
  r.Add("", "BitwiseXor", Create<BitsKernel<Bits::kXor, kSigned | kUnsigned>>);
  r.Add("", "BitwiseNot", Create<BitwiseNotKernel>);
  r.Add("", "BitShift", Create<BitShiftKernel>);
}

}  // namespace tern::ref
