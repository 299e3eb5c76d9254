// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opset 12+).
// input/scores [N, C] or [N, C, d1, ..., dk]; target/labels [N] or [N, d1, ..., dk] (int32 or
// int64); optional weight [C]. Each position's loss is -logp[n, t, d] * weight[t] (weight 1 when
// absent), and 0 with weight 0 when t == ignore_index (which may be negative). reduction "none"
// returns the per-position losses, "sum" their sum, "mean" their sum divided by the sum of the
// weights used (NaN when every position is ignored). SoftmaxCrossEntropyLoss takes logp as
// LogSoftmax(scores) over the class axis and can return it as its second output.
// Accumulation is in double.
#include <vector>

#include "ep/ref/reduce_util.h"

namespace tern::ref {
namespace {

enum class Reduction { kNone, kSum, kMean };

template <bool Softmax>
class LossKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const std::string r = info.GetString("reduction", "mean");
    if (r == "none")
      reduction_ = Reduction::kNone;
    else if (r == "sum")
      reduction_ = Reduction::kSum;
    else if (r == "mean")
      reduction_ = Reduction::kMean;
    else
      return info.Error(StatusCode::kInvalidModel,
                        "reduction must be none, sum or mean, got '" + r + "'");
    has_ignore_ = info.has_attr("ignore_index");
    ignore_ = info.GetInt("ignore_index", 0);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "missing input or target");
    const Tensor& x = ctx.input(0);
    const Tensor& target = ctx.input(1);
    const Tensor* weight = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    TERN_RETURN_IF_ERROR(CheckShapes(ctx, x, target, weight));
    if (target.dtype() != DataType::kInt32 && target.dtype() != DataType::kInt64)
      return ctx.Error(
          StatusCode::kInvalidArgument,
          std::string("target must be int32 or int64, got ") + DataTypeName(target.dtype()));
    if (weight && weight->dtype() != x.dtype())
      return ctx.Error(StatusCode::kInvalidArgument, "weight type differs from the input type");
    return Visit<kFloats>(
        x.dtype(), [&](auto tag) -> Status { return Run<decltype(tag)>(ctx, x, target, weight); });
  }

 private:
  Status CheckShapes(KernelContext& ctx, const Tensor& x, const Tensor& target,
                     const Tensor* weight) const {
    bool ok = x.rank() >= 2 && target.rank() + 1 == x.rank() && target.dim(0) == x.dim(0);
    for (size_t i = 2; ok && i < x.rank(); ++i) ok = target.dim(i - 1) == x.dim(i);
    if (!ok)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "input shape " + x.shape().ToString() + " and target shape " +
                           target.shape().ToString() + " do not match [N, C, d...] and [N, d...]");
    if (weight && (weight->rank() != 1 || weight->dim(0) != x.dim(1)))
      return ctx.Error(StatusCode::kInvalidArgument, "weight must have shape [" +
                                                         std::to_string(x.dim(1)) + "], got " +
                                                         weight->shape().ToString());
    return Status::Ok();
  }

  template <typename T>
  Status Run(KernelContext& ctx, const Tensor& x, const Tensor& target,
             const Tensor* weight) const {
    const int64_t n_batch = x.dim(0);
    const int64_t classes = x.dim(1);
    const int64_t inner = x.shape().Product(2, x.rank());
    const T* px = x.data<T>();

    // logp[(n * C + c) * inner + d]
    std::vector<double> logp;
    if constexpr (Softmax) {
      logp.resize(static_cast<size_t>(x.numel()));
      for (int64_t n = 0; n < n_batch; ++n)
        for (int64_t d = 0; d < inner; ++d) {
          const int64_t base = n * classes * inner + d;
          double mx = -std::numeric_limits<double>::infinity();
          for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, ToDouble(px[base + c * inner]));
          double sum = 0;
          for (int64_t c = 0; c < classes; ++c)
            sum += std::exp(ToDouble(px[base + c * inner]) - mx);
          const double shift = mx + std::log(sum);
          for (int64_t c = 0; c < classes; ++c)
            logp[static_cast<size_t>(base + c * inner)] = ToDouble(px[base + c * inner]) - shift;
        }
    }

    TERN_ASSIGN_OR_RETURN(std::vector<int64_t> t, ReadInts(target, "target"));
    const T* pw = weight ? weight->data<T>() : nullptr;
    const int64_t positions = n_batch * inner;
    std::vector<double> loss(static_cast<size_t>(positions));
    double loss_sum = 0, weight_sum = 0;
    for (int64_t n = 0; n < n_batch; ++n)
      for (int64_t d = 0; d < inner; ++d) {
        const int64_t p = n * inner + d;
        const int64_t c = t[static_cast<size_t>(p)];
        double l = 0, w = 0;
        if (!(has_ignore_ && c == ignore_)) {
          if (c < 0 || c >= classes)
            return ctx.Error(StatusCode::kOutOfRange, "target " + std::to_string(c) +
                                                          " is out of range for " +
                                                          std::to_string(classes) + " classes");
          const int64_t idx = (n * classes + c) * inner + d;
          const double lp = Softmax ? logp[static_cast<size_t>(idx)] : ToDouble(px[idx]);
          w = pw ? ToDouble(pw[c]) : 1.0;
          l = -lp * w;
        }
        loss[static_cast<size_t>(p)] = l;
        loss_sum += l;
        weight_sum += w;
      }

    if (reduction_ == Reduction::kNone) {
      TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), target.shape()));
      T* po = out->data<T>();
      for (int64_t p = 0; p < positions; ++p) po[p] = FromDouble<T>(loss[static_cast<size_t>(p)]);
    } else {
      TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), Shape{}));
      const double r = reduction_ == Reduction::kSum ? loss_sum : loss_sum / weight_sum;
      out->data<T>()[0] = FromDouble<T>(r);
    }
    if constexpr (Softmax) {
      if (ctx.output_wanted(1)) {
        TERN_ASSIGN_OR_RETURN(Tensor * lp_out, ctx.Output(1, x.dtype(), x.shape()));
        T* pl = lp_out->data<T>();
        for (size_t i = 0; i < logp.size(); ++i) pl[i] = FromDouble<T>(logp[i]);
      }
    }
    return Status::Ok();
  }

  Reduction reduction_ = Reduction::kMean;
  bool has_ignore_ = false;
  int64_t ignore_ = 0;
};

}  // namespace

void Register_losses(KernelRegistry& r) {
  r.Add("", "NegativeLogLikelihoodLoss", Create<LossKernel<false>>, 12);
  r.Add("", "SoftmaxCrossEntropyLoss", Create<LossKernel<true>>, 12);
}

}  // namespace tern::ref
