// Gradients of the elementwise activations and of Softmax/LogSoftmax/Dropout (domain ai.tern):
//   ReluGrad(dY, X), LeakyReluGrad(dY, X; alpha)          dX from the forward input
//   SigmoidGrad(dY, Y), TanhGrad(dY, Y)                   dX from the forward output
//   DropoutGrad(dY, mask, ratio)                          dX = dY * mask / (1 - ratio)
//   SoftmaxGrad(dY, Y; axis, coerce_2d)                   dX = Y * (dY - sum(dY * Y))
//   LogSoftmaxGrad(dY, Y; axis, coerce_2d)                dX = dY - exp(Y) * sum(dY)
// coerce_2d = 1 reproduces Softmax before opset 13 (the sum runs over the flattened tail).
#include "ep/ref/grad_util.h"

namespace tern::ref {
namespace {

enum class Act { kRelu, kLeakyRelu, kSigmoid, kTanh };

template <Act kAct>
class ActivationGradKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    alpha_ = info.GetFloat("alpha", 0.01f);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 2));
    const Tensor& dy = ctx.input(0);
    const Tensor& v = ctx.input(1);  // X for Relu/LeakyRelu, Y for Sigmoid/Tanh
    TERN_RETURN_IF_ERROR(RequireSameShape(ctx, dy, v, "dY and the forward value"));
    TERN_ASSIGN_OR_RETURN(Tensor * dx, ctx.Output(0, dy.dtype(), dy.shape()));
    return VisitGradType(ctx, dy.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* g = dy.data<T>();
      const T* p = v.data<T>();
      T* o = dx->data<T>();
      const T alpha = static_cast<T>(alpha_);
      for (int64_t i = 0; i < dy.numel(); ++i) {
        if constexpr (kAct == Act::kRelu) o[i] = p[i] > T(0) ? g[i] : T(0);
        if constexpr (kAct == Act::kLeakyRelu) o[i] = p[i] < T(0) ? alpha * g[i] : g[i];
        if constexpr (kAct == Act::kSigmoid) o[i] = g[i] * p[i] * (T(1) - p[i]);
        if constexpr (kAct == Act::kTanh) o[i] = g[i] * (T(1) - p[i] * p[i]);
      }
      return Status::Ok();
    });
  }

 private:
  float alpha_ = 0.01f;
};

class DropoutGradKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 3));
    const Tensor& dy = ctx.input(0);
    const Tensor& mask = ctx.input(1);
    if (mask.dtype() != DataType::kBool || mask.shape() != dy.shape())
      return ctx.Error(StatusCode::kInvalidArgument, "mask must be bool with dY's shape");
    if (ctx.input(2).numel() != 1)
      return ctx.Error(StatusCode::kInvalidArgument, "ratio must be a scalar");
    const double ratio = ReadAsDouble(ctx.input(2), 0);
    if (!(ratio >= 0.0 && ratio < 1.0))
      return ctx.Error(StatusCode::kInvalidArgument, "ratio must be in [0, 1)");
    TERN_ASSIGN_OR_RETURN(Tensor * dx, ctx.Output(0, dy.dtype(), dy.shape()));
    return VisitGradType(ctx, dy.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T scale = static_cast<T>(1.0 / (1.0 - ratio));
      for (int64_t i = 0; i < dy.numel(); ++i)
        dx->data<T>()[i] = mask.data<bool>()[i] ? dy.data<T>()[i] * scale : T(0);
      return Status::Ok();
    });
  }
};

template <bool kLog>
class SoftmaxGradKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    coerce_2d_ = info.GetInt("coerce_2d", 0) != 0;
    axis_ = info.GetInt("axis", coerce_2d_ ? 1 : -1);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 2));
    const Tensor& dy = ctx.input(0);
    const Tensor& y = ctx.input(1);
    TERN_RETURN_IF_ERROR(RequireSameShape(ctx, dy, y, "dY and Y"));
    const int64_t rank = static_cast<int64_t>(y.rank());
    if (rank == 0 || axis_ < -rank || axis_ > (coerce_2d_ ? rank : rank - 1))
      return ctx.Error(StatusCode::kInvalidArgument, "axis is out of range");
    const size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + rank : axis_);
    int64_t outer = y.shape().Product(0, axis), len, inner;
    if (coerce_2d_) {
      len = y.shape().Product(axis, y.rank());
      inner = 1;
    } else {
      len = y.dim(axis);
      inner = y.shape().Product(axis + 1, y.rank());
    }
    TERN_ASSIGN_OR_RETURN(Tensor * dx, ctx.Output(0, dy.dtype(), dy.shape()));
    return VisitGradType(ctx, dy.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* g = dy.data<T>();
      const T* p = y.data<T>();
      T* o = dx->data<T>();
      for (int64_t a = 0; a < outer; ++a)
        for (int64_t b = 0; b < inner; ++b) {
          const int64_t base = a * len * inner + b;
          T s = 0;
          for (int64_t k = 0; k < len; ++k) {
            const int64_t i = base + k * inner;
            s += kLog ? g[i] : g[i] * p[i];
          }
          for (int64_t k = 0; k < len; ++k) {
            const int64_t i = base + k * inner;
            o[i] = kLog ? g[i] - std::exp(p[i]) * s : p[i] * (g[i] - s);
          }
        }
      return Status::Ok();
    });
  }

 private:
  bool coerce_2d_ = false;
  int64_t axis_ = -1;
};

}  // namespace

void Register_grad_activation(KernelRegistry& r) {
  r.Add(kTernDomain, "ReluGrad", Create<ActivationGradKernel<Act::kRelu>>);
  r.Add(kTernDomain, "LeakyReluGrad", Create<ActivationGradKernel<Act::kLeakyRelu>>);
  r.Add(kTernDomain, "SigmoidGrad", Create<ActivationGradKernel<Act::kSigmoid>>);
  r.Add(kTernDomain, "TanhGrad", Create<ActivationGradKernel<Act::kTanh>>);
  r.Add(kTernDomain, "DropoutGrad", Create<DropoutGradKernel>);
  r.Add(kTernDomain, "SoftmaxGrad", Create<SoftmaxGradKernel<false>>);
  r.Add(kTernDomain, "LogSoftmaxGrad", Create<SoftmaxGradKernel<true>>);
}

}  // namespace tern::ref
