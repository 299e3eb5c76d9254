// BatchNormalization (inference; training_mode in opset 14+ producing running mean/var; the
// extra outputs of opsets < 14 from batch statistics) and InstanceNormalization.
#include <cmath>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

// Per-channel mean and biased variance over N and the spatial dims.
template <typename T, typename A>
void ChannelStats(const Tensor& x, std::vector<A>* mean, std::vector<A>* var) {
  const int64_t n = x.dim(0), c = x.dim(1), inner = x.shape().Product(2, x.rank());
  const T* px = x.data<T>();
  mean->assign(static_cast<size_t>(c), A(0));
  var->assign(static_cast<size_t>(c), A(0));
  const A count = static_cast<A>(n * inner);
  for (int64_t ci = 0; ci < c; ++ci) {
    A s = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) s += static_cast<A>(px[(b * c + ci) * inner + i]);
    const A mu = count > A(0) ? s / count : A(0);
    A q = 0;
    for (int64_t b = 0; b < n; ++b)
      for (int64_t i = 0; i < inner; ++i) {
        const A d = static_cast<A>(px[(b * c + ci) * inner + i]) - mu;
        q += d * d;
      }
    (*mean)[ci] = mu;
    (*var)[ci] = count > A(0) ? q / count : A(0);
  }
}

template <typename A>
Status WriteVector(KernelContext& ctx, size_t out, DataType dtype, const std::vector<A>& v) {
  TERN_ASSIGN_OR_RETURN(Tensor * t, ctx.Output(out, dtype, Shape{static_cast<int64_t>(v.size())}));
  return Visit<kFloats>(dtype, [&](auto tag) {
    using U = decltype(tag);
    for (size_t i = 0; i < v.size(); ++i) t->data<U>()[i] = static_cast<U>(v[i]);
    return Status::Ok();
  });
}

class BatchNormKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    epsilon_ = info.GetFloat("epsilon", 1e-5f);
    momentum_ = info.GetFloat("momentum", 0.9f);
    training_ = info.opset() >= 14 && info.GetInt("training_mode", 0) != 0;
    if (info.opset() < 9 && info.has_attr("spatial") && info.GetInt("spatial", 1) == 0)
      return info.Error(StatusCode::kNotImplemented, "spatial=0 is not supported");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    for (size_t i = 0; i < 5; ++i)
      if (!ctx.has_input(i))
        return ctx.Error(StatusCode::kInvalidArgument, "BatchNormalization needs 5 inputs, input " +
                                                           std::to_string(i) + " is missing");
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must have rank >= 2, got " + x.shape().ToString());
    const int64_t c = x.dim(1);
    for (size_t i = 1; i < 5; ++i) {
      const Tensor& p = ctx.input(i);
      if (p.rank() != 1 || p.dim(0) != c)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "parameter input " + std::to_string(i) + " must have shape [" +
                             std::to_string(c) + "], got " + p.shape().ToString());
    }
    const bool stats =
        training_ || (ctx.opset() < 14 && (ctx.output_wanted(1) || ctx.output_wanted(2) ||
                                           ctx.output_wanted(3) || ctx.output_wanted(4)));
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccT<T>;
      std::vector<A> p[4];
      for (int i = 0; i < 4; ++i) {
        auto r = nn::ReadFloats<A>(ctx.input(i + 1), "BatchNormalization parameter");
        if (!r.ok()) return ctx.Error(StatusCode::kInvalidArgument, r.status().message());
        p[i] = std::move(r).value();
      }
      std::vector<A> bmean, bvar;
      if (stats) ChannelStats<T, A>(x, &bmean, &bvar);
      const std::vector<A>& mean = training_ ? bmean : p[2];
      const std::vector<A>& var = training_ ? bvar : p[3];
      const int64_t n = x.dim(0), inner = x.shape().Product(2, x.rank());
      const T* px = x.data<T>();
      T* py = y->data<T>();
      const A eps = static_cast<A>(epsilon_);
      for (int64_t ci = 0; ci < c; ++ci) {
        const A inv = A(1) / std::sqrt(var[ci] + eps);
        for (int64_t b = 0; b < n; ++b) {
          const int64_t base = (b * c + ci) * inner;
          for (int64_t i = 0; i < inner; ++i)
            py[base + i] = static_cast<T>(
                (static_cast<A>(px[base + i]) - mean[ci]) * inv * p[0][ci] + p[1][ci]);
        }
      }
      if (!stats) return Status::Ok();
      const A mom = static_cast<A>(momentum_);
      std::vector<A> rmean(static_cast<size_t>(c)), rvar(static_cast<size_t>(c));
      for (int64_t ci = 0; ci < c; ++ci) {
        rmean[ci] = p[2][ci] * mom + bmean[ci] * (A(1) - mom);
        rvar[ci] = p[3][ci] * mom + bvar[ci] * (A(1) - mom);
      }
      const DataType mt = ctx.input(3).dtype();
      if (ctx.output_wanted(1)) TERN_RETURN_IF_ERROR(WriteVector(ctx, 1, mt, rmean));
      if (ctx.output_wanted(2)) TERN_RETURN_IF_ERROR(WriteVector(ctx, 2, mt, rvar));
      if (ctx.output_wanted(3)) TERN_RETURN_IF_ERROR(WriteVector(ctx, 3, mt, bmean));
      if (ctx.output_wanted(4)) TERN_RETURN_IF_ERROR(WriteVector(ctx, 4, mt, bvar));
      return Status::Ok();
    });
  }

 private:
  float epsilon_ = 1e-5f, momentum_ = 0.9f;
  bool training_ = false;
};

class InstanceNormKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    epsilon_ = info.GetFloat("epsilon", 1e-5f);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    for (size_t i = 0; i < 3; ++i)
      if (!ctx.has_input(i))
        return ctx.Error(StatusCode::kInvalidArgument, "InstanceNormalization needs 3 inputs");
    const Tensor& x = ctx.input(0);
    if (x.rank() < 3)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must have rank >= 3, got " + x.shape().ToString());
    const int64_t n = x.dim(0), c = x.dim(1), inner = x.shape().Product(2, x.rank());
    for (size_t i = 1; i < 3; ++i)
      if (ctx.input(i).rank() != 1 || ctx.input(i).dim(0) != c || ctx.input(i).dtype() != x.dtype())
        return ctx.Error(StatusCode::kInvalidArgument,
                         "scale and B must have shape [" + std::to_string(c) + "] and X's type");
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccT<T>;
      const T* px = x.data<T>();
      const T* ps = ctx.input(1).data<T>();
      const T* pb = ctx.input(2).data<T>();
      T* py = y->data<T>();
      for (int64_t b = 0; b < n; ++b)
        for (int64_t ci = 0; ci < c; ++ci) {
          const int64_t base = (b * c + ci) * inner;
          A s = 0;
          for (int64_t i = 0; i < inner; ++i) s += static_cast<A>(px[base + i]);
          const A mu = inner > 0 ? s / static_cast<A>(inner) : A(0);
          A q = 0;
          for (int64_t i = 0; i < inner; ++i) {
            const A d = static_cast<A>(px[base + i]) - mu;
            q += d * d;
          }
          const A var = inner > 0 ? q / static_cast<A>(inner) : A(0);
          const A inv = A(1) / std::sqrt(var + static_cast<A>(epsilon_));
          const A sc = static_cast<A>(ps[ci]), bi = static_cast<A>(pb[ci]);
          for (int64_t i = 0; i < inner; ++i)
            py[base + i] = static_cast<T>((static_cast<A>(px[base + i]) - mu) * inv * sc + bi);
        }
      return Status::Ok();
    });
  }

 private:
  float epsilon_ = 1e-5f;
};

}  // namespace

void Register_batch_norm(KernelRegistry& r) {
  r.Add("", "BatchNormalization", Create<BatchNormKernel>);
  r.Add("", "InstanceNormalization", Create<InstanceNormKernel>);
}

}  // namespace tern::ref
