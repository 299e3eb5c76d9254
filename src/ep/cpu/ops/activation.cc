// Relu, LeakyRelu, Sigmoid, HardSigmoid, HardSwish, Tanh and Clip on float32: one pass of the
// activation microkernel (the same one the fused ops' epilogues use), split over the pool.
// Clip from opset 11 reads its optional scalar min/max inputs at run time.
#include <limits>
#include <string>

#include "ep/cpu/cpu_common.h"

namespace tern::cpu {
namespace {

constexpr int64_t kParallelGrain = 1 << 14;

class ActivationKernel : public OpKernel {
 public:
  explicit ActivationKernel(Activation act) { params_.act = act; }

  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "X"));
    switch (params_.act) {
      case Activation::kLeakyRelu:
        params_.alpha = info.GetFloat("alpha", 0.01f);
        break;
      case Activation::kHardSigmoid:
        params_.alpha = info.GetFloat("alpha", 0.2f);
        params_.beta = info.GetFloat("beta", 0.5f);
        break;
      case Activation::kClip:
        bounds_from_inputs_ = info.opset() >= 11;
        // Without a bound nothing is clipped on that side (infinity keeps inf as is).
        params_.alpha = bounds_from_inputs_
                            ? -std::numeric_limits<float>::infinity()
                            : info.GetFloat("min", std::numeric_limits<float>::lowest());
        params_.beta = bounds_from_inputs_
                           ? std::numeric_limits<float>::infinity()
                           : info.GetFloat("max", std::numeric_limits<float>::max());
        for (size_t k = 1; bounds_from_inputs_ && k <= 2; ++k)
          if (info.has_input(k))
            TERN_RETURN_IF_ERROR(RequireFloat32(info, k, k == 1 ? "min" : "max"));
        break;
      default:
        break;
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DataType::kFloat32)
      return ctx.Error(StatusCode::kInvalidArgument,
                       std::string("X must be float32, got ") + DataTypeName(x.dtype()));
    ActivationParams p = params_;
    if (bounds_from_inputs_) {
      for (size_t k = 1; k <= 2; ++k) {
        if (!ctx.has_input(k)) continue;
        const Tensor& t = ctx.input(k);
        if (t.dtype() != DataType::kFloat32 || t.numel() != 1)
          return ctx.Error(StatusCode::kInvalidArgument,
                           std::string(k == 1 ? "min" : "max") + " must be a float32 scalar, got " +
                               DataTypeName(t.dtype()) + " " + t.shape().ToString());
        (k == 1 ? p.alpha : p.beta) = t.data<float>()[0];
      }
    }
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, x.shape()));
    const float* px = x.data<float>();
    float* py = y->data<float>();
    const F32VActivationUkernel fn = ElementwiseUkernels().activation;
    auto body = [&](int64_t i0, int64_t i1) {
      fn(static_cast<size_t>(i1 - i0), px + i0, py + i0, p);
    };
    ParallelRange(ctx.thread_pool(), x.numel(), kParallelGrain, std::cref(body));
    return Status::Ok();
  }

 private:
  ActivationParams params_;
  bool bounds_from_inputs_ = false;
};

}  // namespace

void Register_activation(KernelRegistry& r) {
  r.Add("", "Relu", Create<ActivationKernel, Activation::kRelu>);
  r.Add("", "LeakyRelu", Create<ActivationKernel, Activation::kLeakyRelu>);
  r.Add("", "Sigmoid", Create<ActivationKernel, Activation::kSigmoid>);
  r.Add("", "HardSigmoid", Create<ActivationKernel, Activation::kHardSigmoid>);
  r.Add("", "HardSwish", Create<ActivationKernel, Activation::kHardSwish>);
  r.Add("", "Tanh", Create<ActivationKernel, Activation::kTanh>);
  r.Add("", "Clip", Create<ActivationKernel, Activation::kClip>);
}

}  // namespace tern::cpu
