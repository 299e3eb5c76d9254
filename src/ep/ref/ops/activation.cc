// Elementwise activations: Relu, Sigmoid, Tanh, LeakyRelu, Elu, Selu, Celu, HardSigmoid,
// HardSwish, Softplus, Softsign, ThresholdedRelu, Shrink, and PRelu (slope broadcast to X;
// per channel before opset 7).
// Attributes are read once at creation; arithmetic is done in float for float16/bfloat16.
#include "ep/ref/elem_util.h"

namespace tern::ref {
namespace {

struct ReluOp : NoAttrs {
  static constexpr unsigned kTypes = kFloats | kSigned;
  template <typename C>
  C Apply(C x) const {
    return x > C(0) ? x : (x == x ? C(0) : x);  // NaN stays NaN
  }
};

struct SigmoidOp : NoAttrs {
  static constexpr unsigned kTypes = kFloats;
  template <typename C>
  C Apply(C x) const {
    // Two forms so that exp never overflows.
    if (x >= C(0)) return C(1) / (C(1) + std::exp(-x));
    C e = std::exp(x);
    return e / (C(1) + e);
  }
};

struct TanhOp : NoAttrs {
  static constexpr unsigned kTypes = kFloats;
  template <typename C>
  C Apply(C x) const {
    return std::tanh(x);
  }
};

struct SoftplusOp : NoAttrs {
  static constexpr unsigned kTypes = kFloats;
  template <typename C>
  C Apply(C x) const {
    // log(1 + exp(x)), rewritten for large x.
    if (x > C(0)) return x + std::log1p(std::exp(-x));
    return std::log1p(std::exp(x));
  }
};

struct SoftsignOp : NoAttrs {
  static constexpr unsigned kTypes = kFloats;
  template <typename C>
  C Apply(C x) const {
    return x / (C(1) + std::fabs(x));
  }
};

struct HardSwishOp : NoAttrs {
  static constexpr unsigned kTypes = kFloats;
  template <typename C>
  C Apply(C x) const {
    C h = x / C(6) + C(0.5);
    h = std::max(C(0), std::min(C(1), h));
    return x * h;
  }
};

/// Activations with one `alpha` attribute.
template <int Default1000>
struct AlphaAttr {
  float alpha = static_cast<float>(Default1000) / 1000.0f;
  Status Init(const KernelInfo& info) {
    alpha = info.GetFloat("alpha", alpha);
    return Status::Ok();
  }
};

struct LeakyReluOp : AlphaAttr<10> {  // alpha = 0.01
  static constexpr unsigned kTypes = kFloats;
  template <typename C>
  C Apply(C x) const {
    return x < C(0) ? static_cast<C>(alpha) * x : x;
  }
};

struct EluOp : AlphaAttr<1000> {
  static constexpr unsigned kTypes = kFloats;
  template <typename C>
  C Apply(C x) const {
    return x < C(0) ? static_cast<C>(alpha) * std::expm1(x) : x;
  }
};

struct CeluOp : AlphaAttr<1000> {
  static constexpr unsigned kTypes = kFloats;
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(AlphaAttr<1000>::Init(info));
    if (alpha == 0.0f) return info.Error(StatusCode::kInvalidArgument, "alpha must not be 0");
    return Status::Ok();
  }
  template <typename C>
  C Apply(C x) const {
    const C a = static_cast<C>(alpha);
    return x > C(0) ? x : a * std::expm1(x / a);
  }
};

struct ThresholdedReluOp : AlphaAttr<1000> {
  static constexpr unsigned kTypes = kFloats;
  template <typename C>
  C Apply(C x) const {
    return x > static_cast<C>(alpha) ? x : C(0);
  }
};

struct SeluOp {
  static constexpr unsigned kTypes = kFloats;
  float alpha = 1.67326319217681884765625f;
  float gamma = 1.05070102214813232421875f;
  Status Init(const KernelInfo& info) {
    alpha = info.GetFloat("alpha", alpha);
    gamma = info.GetFloat("gamma", gamma);
    return Status::Ok();
  }
  template <typename C>
  C Apply(C x) const {
    const C g = static_cast<C>(gamma);
    return x > C(0) ? g * x : g * (static_cast<C>(alpha) * std::exp(x) - static_cast<C>(alpha));
  }
};

struct HardSigmoidOp {
  static constexpr unsigned kTypes = kFloats;
  float alpha = 0.2f;
  float beta = 0.5f;
  Status Init(const KernelInfo& info) {
    alpha = info.GetFloat("alpha", alpha);
    beta = info.GetFloat("beta", beta);
    return Status::Ok();
  }
  template <typename C>
  C Apply(C x) const {
    C y = static_cast<C>(alpha) * x + static_cast<C>(beta);
    return std::max(C(0), std::min(C(1), y));
  }
};

/// Shrink works on every numeric type; integers are compared and shifted in double.
struct ShrinkOp {
  static constexpr unsigned kTypes = kNumeric;
  float lambd = 0.5f;
  float bias = 0.0f;
  Status Init(const KernelInfo& info) {
    lambd = info.GetFloat("lambd", lambd);
    bias = info.GetFloat("bias", bias);
    return Status::Ok();
  }
  template <typename C>
  C Apply(C x) const {
    using W = std::conditional_t<kIsFloat<C>, C, double>;
    const W v = static_cast<W>(x);
    if (v < -static_cast<W>(lambd)) return static_cast<C>(v + static_cast<W>(bias));
    if (v > static_cast<W>(lambd)) return static_cast<C>(v - static_cast<W>(bias));
    return C(0);
  }
};

/// PRelu: y = x < 0 ? slope * x : x, with slope unidirectionally broadcast to x.
class PReluKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, 2));
    const Tensor& x = ctx.input(0);
    Tensor slope = ctx.input(1);
    TERN_RETURN_IF_ERROR(CheckSameType(ctx, x, slope));
    // Before opset 7 (no numpy broadcasting) a 1-D slope of size C applies per channel (axis 1).
    if (ctx.opset() < 7 && slope.rank() == 1 && x.rank() >= 2 && slope.dim(0) == x.dim(1)) {
      Shape channel;
      channel.resize(x.rank() - 1, 1);
      channel[0] = slope.dim(0);
      slope = slope.Reshaped(channel);
    }
    if (!TypeInSet(kNumeric, x.dtype())) return UnsupportedType(ctx, x.dtype());
    auto shape = BroadcastShapes({&x.shape(), &slope.shape()});
    if (!shape.ok() || *shape != x.shape())
      return ctx.Error(StatusCode::kInvalidArgument, "slope shape " + slope.shape().ToString() +
                                                         " does not broadcast to X shape " +
                                                         x.shape().ToString());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kNumeric>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      ApplyBinary<T, T, T>(x, slope, out, [](T a, T s) {
        auto c = ToAcc(a);
        return c < decltype(c)(0) ? static_cast<T>(c * ToAcc(s)) : a;
      });
      return Status::Ok();
    });
  }
};

}  // namespace

void Register_activation(KernelRegistry& r) {
  r.Add("", "Relu", Create<UnaryKernel<ReluOp>>);
  r.Add("", "Sigmoid", Create<UnaryKernel<SigmoidOp>>);
  r.Add("", "Tanh", Create<UnaryKernel<TanhOp>>);
  r.Add("", "Softplus", Create<UnaryKernel<SoftplusOp>>);
  r.Add("", "Softsign", Create<UnaryKernel<SoftsignOp>>);
  r.Add("", "HardSwish", Create<UnaryKernel<HardSwishOp>>);
  r.Add("", "LeakyRelu", Create<UnaryKernel<LeakyReluOp>>);
  r.Add("", "Elu", Create<UnaryKernel<EluOp>>);
  r.Add("", "Celu", Create<UnaryKernel<CeluOp>>);
  r.Add("", "ThresholdedRelu", Create<UnaryKernel<ThresholdedReluOp>>);
  r.Add("", "Selu", Create<UnaryKernel<SeluOp>>);
  r.Add("", "HardSigmoid", Create<UnaryKernel<HardSigmoidOp>>);
  r.Add("", "Shrink", Create<UnaryKernel<ShrinkOp>>);
  r.Add("", "PRelu", Create<PReluKernel>);
}

}  // namespace tern::ref
