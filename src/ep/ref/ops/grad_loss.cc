// Losses for training and their gradients (domain ai.tern):
//   MeanSquaredError(pred, target) -> scalar mean((pred - target)^2)
//   MeanSquaredErrorGrad(dL, pred, target) -> dPred = 2 (pred - target) dL / numel
//   SoftmaxCrossEntropyLossGrad(dL, scores, labels [, weight]; reduction, ignore_index) -> dScores
// For SoftmaxCrossEntropyLoss (scores [N, C, d...], labels [N, d...]) each position contributes
// w * (softmax(scores) - onehot(label)) times its share of dL: dL / sum(w) for "mean", dL for
// "sum", dL[position] for "none"; ignored positions (label == ignore_index) contribute nothing.
#include <algorithm>
#include <cmath>

#include "ep/ref/grad_util.h"

namespace tern::ref {
namespace {

class MseKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 2));
    const Tensor& p = ctx.input(0);
    const Tensor& t = ctx.input(1);
    TERN_RETURN_IF_ERROR(RequireSameShape(ctx, p, t, "prediction and target"));
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, p.dtype(), Shape{}));
    return VisitGradType(ctx, p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      double s = 0;
      for (int64_t i = 0; i < p.numel(); ++i) {
        const double d = static_cast<double>(p.data<T>()[i]) - t.data<T>()[i];
        s += d * d;
      }
      out->data<T>()[0] = static_cast<T>(p.numel() ? s / static_cast<double>(p.numel()) : 0.0);
      return Status::Ok();
    });
  }
};

class MseGradKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 3));
    const Tensor& dl = ctx.input(0);
    const Tensor& p = ctx.input(1);
    const Tensor& t = ctx.input(2);
    TERN_RETURN_IF_ERROR(RequireSameShape(ctx, p, t, "prediction and target"));
    if (dl.numel() != 1 || dl.dtype() != p.dtype())
      return ctx.Error(StatusCode::kInvalidArgument, "dL must be a scalar of the prediction type");
    TERN_ASSIGN_OR_RETURN(Tensor * dp, ctx.Output(0, p.dtype(), p.shape()));
    return VisitGradType(ctx, p.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T k = T(2) * dl.data<T>()[0] / static_cast<T>(std::max<int64_t>(p.numel(), 1));
      for (int64_t i = 0; i < p.numel(); ++i)
        dp->data<T>()[i] = k * (p.data<T>()[i] - t.data<T>()[i]);
      return Status::Ok();
    });
  }
};

class SceGradKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    reduction_ = info.GetString("reduction", "mean");
    if (reduction_ != "mean" && reduction_ != "sum" && reduction_ != "none")
      return info.Error(StatusCode::kInvalidModel, "bad reduction '" + reduction_ + "'");
    has_ignore_ = info.has_attr("ignore_index");
    ignore_ = info.GetInt("ignore_index", 0);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 3));
    const Tensor& dl = ctx.input(0);
    const Tensor& x = ctx.input(1);
    const Tensor& labels = ctx.input(2);
    const Tensor* weight = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    if (x.rank() < 2 || labels.rank() + 1 != x.rank() || labels.dim(0) != x.dim(0))
      return ctx.Error(StatusCode::kInvalidArgument, "scores " + x.shape().ToString() +
                                                         " and labels " +
                                                         labels.shape().ToString() + " differ");
    const int64_t n = x.dim(0), c = x.dim(1), inner = x.shape().Product(2, x.rank());
    if (labels.numel() != n * inner)
      return ctx.Error(StatusCode::kInvalidArgument, "labels do not match the scores");
    if (weight && (weight->numel() != c || weight->dtype() != x.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "weight must have C elements");
    const bool none = reduction_ == "none";
    if (dl.dtype() != x.dtype() || dl.numel() != (none ? n * inner : 1))
      return ctx.Error(StatusCode::kInvalidArgument, "dL has the wrong shape or type");
    TERN_ASSIGN_OR_RETURN(std::vector<int64_t> label, ReadInts(labels, "labels"));
    TERN_ASSIGN_OR_RETURN(Tensor * dx, ctx.Output(0, x.dtype(), x.shape()));
    return VisitGradType(ctx, x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      auto w_of = [&](int64_t t) -> T {
        if (has_ignore_ && t == ignore_) return T(0);
        return weight ? weight->data<T>()[t] : T(1);
      };
      T wsum = 0;
      for (int64_t t : label) {
        if (!(has_ignore_ && t == ignore_) && (t < 0 || t >= c))
          return ctx.Error(
              StatusCode::kInvalidArgument,
              "label " + std::to_string(t) + " is outside [0, " + std::to_string(c) + ")");
        wsum += w_of(t);
      }
      const T* px = x.data<T>();
      T* pd = dx->data<T>();
      std::vector<T> prob(static_cast<size_t>(c));
      for (int64_t b = 0; b < n; ++b)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t pos = b * inner + i;
          const int64_t t = label[pos];
          T coef = w_of(t);
          if (none)
            coef *= dl.data<T>()[pos];
          else if (reduction_ == "sum")
            coef *= dl.data<T>()[0];
          else
            coef = wsum != T(0) ? coef * dl.data<T>()[0] / wsum : T(0);
          T mx = px[(b * c) * inner + i];
          for (int64_t k = 1; k < c; ++k) mx = std::max(mx, px[(b * c + k) * inner + i]);
          T z = 0;
          for (int64_t k = 0; k < c; ++k) {
            prob[k] = std::exp(px[(b * c + k) * inner + i] - mx);
            z += prob[k];
          }
          for (int64_t k = 0; k < c; ++k)
            pd[(b * c + k) * inner + i] = coef * (prob[k] / z - (k == t ? T(1) : T(0)));
        }
      return Status::Ok();
    });
  }

 private:
  std::string reduction_ = "mean";
  bool has_ignore_ = false;
  int64_t ignore_ = 0;
};

}  // namespace

void Register_grad_loss(KernelRegistry& r) {
  r.Add(kTernDomain, "MeanSquaredError", Create<MseKernel>);
  r.Add(kTernDomain, "MeanSquaredErrorGrad", Create<MseGradKernel>);
  r.Add(kTernDomain, "SoftmaxCrossEntropyLossGrad", Create<SceGradKernel>);
}

}  // namespace tern::ref
