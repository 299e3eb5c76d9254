// BatchNormGrad(dY, X, scale, mean, var; epsilon, training_mode) -> dX, dScale, dB  (ai.tern)
//
// Per channel over the M = N x spatial values, with xhat = (x - mu) * istd:
//   dB = sum(dY), dScale = sum(dY * xhat)
//   frozen (inference statistics from the inputs mean/var):  dX = dY * scale * istd
//   training (batch statistics, recomputed here from X):
//       dX = scale * istd / M * (M * dY - dB - xhat * dScale)
#include <cmath>

#include "ep/ref/grad_util.h"

namespace tern::ref {
namespace {

class BatchNormGradKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    epsilon_ = info.GetFloat("epsilon", 1e-5f);
    training_ = info.GetInt("training_mode", 0) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 5));
    const Tensor& dy = ctx.input(0);
    const Tensor& x = ctx.input(1);
    TERN_RETURN_IF_ERROR(RequireSameShape(ctx, dy, x, "dY and X"));
    if (x.rank() < 2) return ctx.Error(StatusCode::kInvalidArgument, "X must have rank >= 2");
    const int64_t n = x.dim(0), c = x.dim(1), inner = x.shape().Product(2, x.rank());
    for (size_t i = 2; i < 5; ++i)
      if (ctx.input(i).numel() != c || ctx.input(i).dtype() != x.dtype())
        return ctx.Error(StatusCode::kInvalidArgument, "input " + std::to_string(i) +
                                                           " must have " + std::to_string(c) +
                                                           " elements of X's type");
    Tensor *dx = nullptr, *ds = nullptr, *db = nullptr;
    if (ctx.output_wanted(0)) {
      TERN_ASSIGN_OR_RETURN(dx, ctx.Output(0, x.dtype(), x.shape()));
    }
    if (ctx.output_wanted(1)) {
      TERN_ASSIGN_OR_RETURN(ds, ctx.Output(1, x.dtype(), Shape{c}));
    }
    if (ctx.output_wanted(2)) {
      TERN_ASSIGN_OR_RETURN(db, ctx.Output(2, x.dtype(), Shape{c}));
    }
    return VisitGradType(ctx, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* px = x.data<T>();
      const T* pg = dy.data<T>();
      const T count = static_cast<T>(n * inner);
      for (int64_t ci = 0; ci < c; ++ci) {
        T mu = ctx.input(3).data<T>()[ci], var = ctx.input(4).data<T>()[ci];
        if (training_) {
          T s = 0, q = 0;
          for (int64_t b = 0; b < n; ++b)
            for (int64_t i = 0; i < inner; ++i) s += px[(b * c + ci) * inner + i];
          mu = count > T(0) ? s / count : T(0);
          for (int64_t b = 0; b < n; ++b)
            for (int64_t i = 0; i < inner; ++i) {
              const T d = px[(b * c + ci) * inner + i] - mu;
              q += d * d;
            }
          var = count > T(0) ? q / count : T(0);
        }
        const T istd = T(1) / std::sqrt(var + static_cast<T>(epsilon_));
        T sum_g = 0, sum_gx = 0;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t k = (b * c + ci) * inner + i;
            sum_g += pg[k];
            sum_gx += pg[k] * (px[k] - mu) * istd;
          }
        if (db) db->data<T>()[ci] = sum_g;
        if (ds) ds->data<T>()[ci] = sum_gx;
        if (!dx) continue;
        const T scale = ctx.input(2).data<T>()[ci];
        for (int64_t b = 0; b < n; ++b)
          for (int64_t i = 0; i < inner; ++i) {
            const int64_t k = (b * c + ci) * inner + i;
            if (training_) {
              const T xhat = (px[k] - mu) * istd;
              dx->data<T>()[k] = scale * istd / count * (count * pg[k] - sum_g - xhat * sum_gx);
            } else {
              dx->data<T>()[k] = pg[k] * scale * istd;
            }
          }
      }
      return Status::Ok();
    });
  }

 private:
  float epsilon_ = 1e-5f;
  bool training_ = false;
};

}  // namespace

void Register_grad_norm(KernelRegistry& r) {
  r.Add(kTernDomain, "BatchNormGrad", Create<BatchNormGradKernel>);
}

}  // namespace tern::ref
