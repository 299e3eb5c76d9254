// Pow (base and exponent may have different types; the result has the base's type) and Mod
// (fmod = 0: integer remainder with the divisor's sign, as Python's %; fmod = 1: C fmod, the
// dividend's sign). Both broadcast numpy-style.
#include "ep/ref/elem_util.h"

namespace tern::ref {
namespace {

/// base ** exp for integers by repeated squaring, wrapping like numpy; exp >= 0.
template <typename I>
I IntPow(I base, uint64_t exp) {
  using U = std::make_unsigned_t<I>;
  U result = 1;
  U b = static_cast<U>(base);
  while (exp > 0) {
    if (exp & 1u) result = static_cast<U>(result * b);
    b = static_cast<U>(b * b);
    exp >>= 1;
  }
  return static_cast<I>(result);
}

class PowKernel : public SimpleKernel {
 public:
  static constexpr unsigned kBaseTypes = kFloats | kSigned;

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 2));
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (!TypeInSet(kBaseTypes, a.dtype())) return UnsupportedType(ctx, a.dtype(), "base");
    if (!TypeInSet(kNumeric, b.dtype())) return UnsupportedType(ctx, b.dtype(), "exponent");
    auto shape = BroadcastShapes({&a.shape(), &b.shape()});
    if (!shape.ok()) return ctx.Error(StatusCode::kInvalidArgument, shape.status().message());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, a.dtype(), *shape));
    bool zero_to_negative = false;
    Status st = Visit<kBaseTypes>(a.dtype(), [&](auto base_tag) -> Status {
      using T = decltype(base_tag);
      return Visit<kNumeric>(b.dtype(), [&](auto exp_tag) -> Status {
        using E = decltype(exp_tag);
        ApplyBinary<T, E, T>(a, b, out, [&](T x, E y) -> T {
          if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
            if constexpr (std::is_signed_v<E>) {
              if (y < 0) {  // 1 / x**|y| truncated toward zero
                if (x == 0) {
                  zero_to_negative = true;
                  return T{0};
                }
                if (x == 1) return T{1};
                if (x == -1) return (y % 2 == 0) ? T{1} : T{-1};
                return T{0};
              }
            }
            return IntPow<T>(x, static_cast<uint64_t>(y));
          }
          const double r = std::pow(static_cast<double>(ToAcc(x)), static_cast<double>(ToAcc(y)));
          if constexpr (std::is_integral_v<T>) return SaturateToInt<T>(r);
          return static_cast<T>(static_cast<AccT<T>>(r));
        });
        return Status::Ok();
      });
    });
    TERN_RETURN_IF_ERROR(st);
    if (zero_to_negative)
      return ctx.Error(StatusCode::kInvalidArgument, "integer 0 raised to a negative power");
    return Status::Ok();
  }
};

class ModKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const int64_t f = info.GetInt("fmod", 0);
    if (f != 0 && f != 1)
      return info.Error(StatusCode::kInvalidArgument,
                        "fmod must be 0 or 1, got " + std::to_string(f));
    fmod_ = f == 1;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 2));
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    TERN_RETURN_IF_ERROR(CheckSameType(ctx, a, b));
    if (!TypeInSet(kNumeric, a.dtype())) return UnsupportedType(ctx, a.dtype());
    if (IsFloatType(a.dtype()) && !fmod_)
      return ctx.Error(StatusCode::kInvalidArgument, "fmod must be 1 for floating-point inputs");
    auto shape = BroadcastShapes({&a.shape(), &b.shape()});
    if (!shape.ok()) return ctx.Error(StatusCode::kInvalidArgument, shape.status().message());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, a.dtype(), *shape));
    const bool use_fmod = fmod_;
    bool div_by_zero = false;
    Status st = Visit<kNumeric>(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      ApplyBinary<T, T, T>(a, b, out, [&](T x, T y) -> T {
        if constexpr (kIsFloat<T>) {
          return static_cast<T>(std::fmod(ToAcc(x), ToAcc(y)));
        } else {
          if (y == 0) {
            div_by_zero = true;
            return T{0};
          }
          if constexpr (std::is_signed_v<T>) {
            if (y == -1) return T{0};  // avoids overflow of lowest() % -1
            T r = static_cast<T>(x % y);
            if (!use_fmod && r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
            return r;
          } else {
            return static_cast<T>(x % y);
          }
        }
      });
      return Status::Ok();
    });
    TERN_RETURN_IF_ERROR(st);
    if (div_by_zero) return ctx.Error(StatusCode::kInvalidArgument, "integer modulo by zero");
    return Status::Ok();
  }

 private:
  bool fmod_ = false;
};

}  // namespace

void Register_pow_mod(KernelRegistry& r) {
  r.Add("", "Pow", Create<PowKernel>);
  r.Add("", "Mod", Create<ModKernel>);
}

}  // namespace tern::ref
