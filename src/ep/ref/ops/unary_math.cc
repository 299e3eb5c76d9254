// Unary math: Abs, Neg, Sign, Reciprocal, Sqrt, Exp, Log, Floor, Ceil, Round, Erf, the
// trigonometric and hyperbolic functions and their inverses, Not, IsNaN and IsInf.
// Floating-point work is done in the element type (float for float16/bfloat16, rounded once
// on the way back). Integer Abs and Neg wrap on the most negative value, as two's complement.
#include <limits>

#include "ep/ref/elem_util.h"

namespace tern::ref {
namespace {

/// -x computed without signed overflow (the most negative value maps to itself).
template <typename C>
C NegateWrapping(C x) {
  if constexpr (std::is_integral_v<C> && std::is_signed_v<C>) {
    using U = std::make_unsigned_t<C>;
    return static_cast<C>(static_cast<U>(U{0} - static_cast<U>(x)));
  } else {
    return -x;
  }
}

struct AbsOp : NoAttrs {
  static constexpr unsigned kTypes = kNumeric;
  template <typename C>
  C Apply(C x) const {
    if constexpr (std::is_unsigned_v<C>) {
      return x;
    } else if constexpr (std::is_integral_v<C>) {
      return x < 0 ? NegateWrapping(x) : x;
    } else {
      return std::fabs(x);
    }
  }
};

struct NegOp : NoAttrs {
  static constexpr unsigned kTypes = kFloats | kSigned;
  template <typename C>
  C Apply(C x) const {
    return NegateWrapping(x);
  }
};

struct SignOp : NoAttrs {
  static constexpr unsigned kTypes = kNumeric;
  template <typename C>
  C Apply(C x) const {
    if (x > C(0)) return C(1);
    if constexpr (std::is_signed_v<C>) {
      if (x < C(0)) return C(-1);
    }
    return x;  // 0 (or NaN, which stays NaN)
  }
};

struct ReciprocalOp : NoAttrs {
  static constexpr unsigned kTypes = kFloats;
  template <typename C>
  C Apply(C x) const {
    return C(1) / x;
  }
};

/// Round half to even, independent of the floating-point environment.
template <typename C>
C RoundHalfEven(C x) {
  C r = std::round(x);  // half away from zero
  if (std::fabs(x - std::trunc(x)) == C(0.5)) r = C(2) * std::round(x / C(2));
  return r;
}

#define TERN_FLOAT_UNARY(NAME, EXPR)            \
  struct NAME : NoAttrs {                       \
    static constexpr unsigned kTypes = kFloats; \
    template <typename C>                       \
    C Apply(C x) const {                        \
      return EXPR;                              \
    }                                           \
  };

TERN_FLOAT_UNARY(SqrtOp, std::sqrt(x))
TERN_FLOAT_UNARY(ExpOp, std::exp(x))
TERN_FLOAT_UNARY(LogOp, std::log(x))
TERN_FLOAT_UNARY(FloorOp, std::floor(x))
TERN_FLOAT_UNARY(CeilOp, std::ceil(x))
TERN_FLOAT_UNARY(RoundOp, RoundHalfEven(x))
TERN_FLOAT_UNARY(SinOp, std::sin(x))
TERN_FLOAT_UNARY(CosOp, std::cos(x))
TERN_FLOAT_UNARY(TanOp, std::tan(x))
TERN_FLOAT_UNARY(AsinOp, std::asin(x))
TERN_FLOAT_UNARY(AcosOp, std::acos(x))
TERN_FLOAT_UNARY(AtanOp, std::atan(x))
TERN_FLOAT_UNARY(SinhOp, std::sinh(x))
TERN_FLOAT_UNARY(CoshOp, std::cosh(x))
TERN_FLOAT_UNARY(AsinhOp, std::asinh(x))
TERN_FLOAT_UNARY(AcoshOp, std::acosh(x))
TERN_FLOAT_UNARY(AtanhOp, std::atanh(x))

#undef TERN_FLOAT_UNARY

/// Erf is defined for every numeric type; integers get erf(x) truncated toward zero.
struct ErfOp : NoAttrs {
  static constexpr unsigned kTypes = kNumeric;
  template <typename C>
  C Apply(C x) const {
    if constexpr (kIsFloat<C>) {
      return std::erf(x);
    } else {
      return static_cast<C>(std::erf(static_cast<double>(x)));
    }
  }
};

struct NotOp : NoAttrs {
  static constexpr unsigned kTypes = kBoolType;
  bool Apply(bool x) const { return !x; }
};

/// IsNaN and IsInf: float input, bool output.
class FloatClassKernel : public OpKernel {
 public:
  explicit FloatClassKernel(bool is_inf) : is_inf_(is_inf) {}
  Status Init(const KernelInfo& info) {
    if (!is_inf_) return Status::Ok();
    detect_negative_ = info.GetInt("detect_negative", 1) != 0;
    detect_positive_ = info.GetInt("detect_positive", 1) != 0;
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 1));
    const Tensor& x = ctx.input(0);
    if (!TypeInSet(kFloats, x.dtype())) return UnsupportedType(ctx, x.dtype());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kBool, x.shape()));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      ApplyUnary<T, bool>(x, out, [&](T v) {
        auto c = ToAcc(v);
        if (!is_inf_) return std::isnan(c);
        if (!std::isinf(c)) return false;
        return c > 0 ? detect_positive_ : detect_negative_;
      });
      return Status::Ok();
    });
  }

 private:
  bool is_inf_;
  bool detect_negative_ = true;
  bool detect_positive_ = true;
};

Result<std::unique_ptr<OpKernel>> CreateIsNaN(const KernelInfo& info) {
  auto k = std::make_unique<FloatClassKernel>(false);
  TERN_RETURN_IF_ERROR(k->Init(info));
  return std::unique_ptr<OpKernel>(std::move(k));
}

Result<std::unique_ptr<OpKernel>> CreateIsInf(const KernelInfo& info) {
  auto k = std::make_unique<FloatClassKernel>(true);
  TERN_RETURN_IF_ERROR(k->Init(info));
  return std::unique_ptr<OpKernel>(std::move(k));
}

}  // namespace

void Register_unary_math(KernelRegistry& r) {
  r.Add("", "Abs", Create<UnaryKernel<AbsOp>>);
  r.Add("", "Neg", Create<UnaryKernel<NegOp>>);
  r.Add("", "Sign", Create<UnaryKernel<SignOp>>);
  r.Add("", "Reciprocal", Create<UnaryKernel<ReciprocalOp>>);
  r.Add("", "Sqrt", Create<UnaryKernel<SqrtOp>>);
  r.Add("", "Exp", Create<UnaryKernel<ExpOp>>);
  r.Add("", "Log", Create<UnaryKernel<LogOp>>);
  r.Add("", "Floor", Create<UnaryKernel<FloorOp>>);
  r.Add("", "Ceil", Create<UnaryKernel<CeilOp>>);
  r.Add("", "Round", Create<UnaryKernel<RoundOp>>);
  r.Add("", "Sin", Create<UnaryKernel<SinOp>>);
  r.Add("", "Cos", Create<UnaryKernel<CosOp>>);
  r.Add("", "Tan", Create<UnaryKernel<TanOp>>);
  r.Add("", "Asin", Create<UnaryKernel<AsinOp>>);
  r.Add("", "Acos", Create<UnaryKernel<AcosOp>>);
  r.Add("", "Atan", Create<UnaryKernel<AtanOp>>);
  r.Add("", "Sinh", Create<UnaryKernel<SinhOp>>);
  r.Add("", "Cosh", Create<UnaryKernel<CoshOp>>);
  r.Add("", "Asinh", Create<UnaryKernel<AsinhOp>>);
  r.Add("", "Acosh", Create<UnaryKernel<AcoshOp>>);
  r.Add("", "Atanh", Create<UnaryKernel<AtanhOp>>);
  r.Add("", "Erf", Create<UnaryKernel<ErfOp>>);
  r.Add("", "Not", Create<UnaryKernel<NotOp>>);
  r.Add("", "IsNaN", CreateIsNaN);
  r.Add("", "IsInf", CreateIsInf);
}

}  // namespace tern::ref
