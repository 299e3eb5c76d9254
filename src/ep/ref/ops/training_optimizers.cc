// ai.onnx.preview.training optimizers: Adagrad, Adam and Momentum (standard or nesterov).
// Inputs are R (learning rate), T (update count), then n tensors each of X, G and the optimizer
// states; outputs are the n new X followed by the n new states of each kind. Computed in double.
#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

enum class Optimizer { kAdagrad, kAdam, kMomentum };

/// Number of per-parameter input groups: X, G and the states.
constexpr size_t InputGroups(Optimizer o) { return o == Optimizer::kAdam ? 4 : 3; }

template <Optimizer O>
class OptimizerKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    norm_ = info.GetFloat("norm_coefficient", 0.f);
    if (O == Optimizer::kAdagrad) {
      decay_ = info.GetFloat("decay_factor", 0.f);
      epsilon_ = info.GetFloat("epsilon", 1e-6f);
    } else if (O == Optimizer::kAdam) {
      alpha_ = info.GetFloat("alpha", 0.9f);
      beta_ = info.GetFloat("beta", 0.999f);
      epsilon_ = info.GetFloat("epsilon", 1e-6f);
      norm_post_ = info.GetFloat("norm_coefficient_post", 0.f);
    } else {
      for (const char* a : {"alpha", "beta", "mode", "norm_coefficient"})
        if (!info.has_attr(a))
          return info.Error(StatusCode::kInvalidModel,
                            std::string("attribute '") + a + "' is required");
      alpha_ = info.GetFloat("alpha", 0.f);
      beta_ = info.GetFloat("beta", 0.f);
      const std::string mode = info.GetString("mode", "");
      if (mode != "standard" && mode != "nesterov")
        return info.Error(StatusCode::kInvalidModel,
                          "mode must be 'standard' or 'nesterov', got '" + mode + "'");
      nesterov_ = mode == "nesterov";
    }
    const size_t groups = InputGroups(O);
    if (info.num_inputs() < 2 || (info.num_inputs() - 2) % groups != 0 || info.num_inputs() == 2)
      return info.Error(StatusCode::kInvalidModel,
                        "expected R, T and " + std::to_string(groups) + " tensors per parameter");
    const size_t n = (info.num_inputs() - 2) / groups;
    if (info.num_outputs() > n * (groups - 1))
      return info.Error(StatusCode::kInvalidModel, "too many outputs");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const size_t groups = InputGroups(O);
    const size_t n = (ctx.num_inputs() - 2) / groups;
    for (size_t i = 0; i < ctx.num_inputs(); ++i)
      if (!ctx.has_input(i))
        return ctx.Error(StatusCode::kInvalidArgument,
                         "input " + std::to_string(i) + " is required");
    const Tensor& r_t = ctx.input(0);
    const Tensor& t_t = ctx.input(1);
    if (r_t.numel() != 1 || !IsFloatType(r_t.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "R must be a float scalar");
    if (t_t.numel() != 1 || t_t.dtype() != DataType::kInt64)
      return ctx.Error(StatusCode::kInvalidArgument, "T must be an int64 scalar");
    const double r = ReadAsDouble(r_t, 0);
    const int64_t t = t_t.data<int64_t>()[0];
    for (size_t p = 0; p < n; ++p) {
      const Tensor& x = ctx.input(2 + p);
      for (size_t g = 1; g < groups; ++g) {
        const Tensor& other = ctx.input(2 + g * n + p);
        if (other.dtype() != x.dtype() || other.shape() != x.shape())
          return ctx.Error(StatusCode::kInvalidArgument, "input " + std::to_string(2 + g * n + p) +
                                                             " must match the type and shape of X" +
                                                             std::to_string(p));
      }
      TERN_RETURN_IF_ERROR(Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
        using T = decltype(tag);
        return Update<T>(ctx, p, n, r, t);
      }));
    }
    return Status::Ok();
  }

 private:
  template <typename T>
  Status Update(KernelContext& ctx, size_t p, size_t n, double r, int64_t t) const {
    const size_t groups = InputGroups(O);
    const Tensor& x = ctx.input(2 + p);
    const int64_t count = x.numel();
    auto in = [&](size_t g) { return ctx.input(2 + g * n + p).template data<T>(); };
    // Outputs: group k (0 = new X, then one per state) for parameter p is output k * n + p.
    std::vector<T*> out(groups - 1, nullptr);
    for (size_t k = 0; k + 1 < groups; ++k) {
      if (!ctx.output_wanted(k * n + p)) continue;
      TERN_ASSIGN_OR_RETURN(Tensor * o, ctx.Output(k * n + p, x.dtype(), x.shape()));
      out[k] = o->data<T>();
    }
    auto get = [](const T* a, int64_t i) {
      return static_cast<double>(static_cast<AccT<T>>(a[i]));
    };
    auto put = [](T* a, int64_t i, double v) {
      if (a) a[i] = static_cast<T>(static_cast<AccT<T>>(v));
    };
    const T* px = in(0);
    const T* pg = in(1);
    for (int64_t i = 0; i < count; ++i) {
      const double xv = get(px, i);
      const double g = norm_ * xv + get(pg, i);
      if constexpr (O == Optimizer::kAdagrad) {
        const double rate = r / (1.0 + static_cast<double>(t) * decay_);
        const double h = get(in(2), i) + g * g;
        put(out[0], i, xv - rate * g / (std::sqrt(h) + epsilon_));
        put(out[1], i, h);
      } else if constexpr (O == Optimizer::kAdam) {
        const double v = alpha_ * get(in(2), i) + (1.0 - alpha_) * g;
        const double h = beta_ * get(in(3), i) + (1.0 - beta_) * g * g;
        double rate = r;
        if (t > 0)
          rate = r * std::sqrt(1.0 - std::pow(beta_, static_cast<double>(t))) /
                 (1.0 - std::pow(alpha_, static_cast<double>(t)));
        const double x_new = xv - rate * (v / (std::sqrt(h) + epsilon_));
        put(out[0], i, (1.0 - norm_post_) * x_new);
        put(out[1], i, v);
        put(out[2], i, h);
      } else {
        const double beta = t > 0 ? beta_ : 1.0;
        const double v = alpha_ * get(in(2), i) + beta * g;
        put(out[0], i, nesterov_ ? xv - r * (g + alpha_ * v) : xv - r * v);
        put(out[1], i, v);
      }
    }
    return Status::Ok();
  }

  double norm_ = 0, norm_post_ = 0, decay_ = 0, epsilon_ = 1e-6, alpha_ = 0, beta_ = 0;
  bool nesterov_ = false;
};

}  // namespace

void Register_training_optimizers(KernelRegistry& r) {
  r.Add("ai.onnx.preview.training", "Adagrad", Create<OptimizerKernel<Optimizer::kAdagrad>>);
  r.Add("ai.onnx.preview.training", "Adam", Create<OptimizerKernel<Optimizer::kAdam>>);
  r.Add("ai.onnx.preview.training", "Momentum", Create<OptimizerKernel<Optimizer::kMomentum>>);
}

}  // namespace tern::ref
