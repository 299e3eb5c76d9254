// LayerNormalization (opset 17; Mean and InvStdDev outputs in the stash type), LRN, and
// MeanVarianceNormalization (axes; y = (x - mean) / (std + 1e-9) as in the ONNX function body).
#include <cmath>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

// Expands `t` (unidirectionally broadcastable to `shape`) to a dense vector of shape's size.
template <typename A>
Result<std::vector<A>> Expand(const Tensor& t, const Shape& shape, const char* what) {
  auto bs = BroadcastShapes({&t.shape(), &shape});
  if (!bs.ok() || *bs != shape)
    return InvalidArgument(std::string(what) + " " + t.shape().ToString() +
                           " cannot be broadcast to " + shape.ToString());
  TERN_ASSIGN_OR_RETURN(std::vector<A> src, nn::ReadFloats<A>(t, what));
  std::vector<A> out(static_cast<size_t>(shape.NumElements()));
  BroadcastIterator it(shape, {&t.shape()});
  it.ForEach([&](int64_t i, const int64_t* off) { out[i] = src[off[0]]; });
  return out;
}

class LayerNormKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", -1);
    epsilon_ = info.GetFloat("epsilon", 1e-5f);
    int64_t stash = info.GetInt("stash_type", 1);
    if (stash != 1 && stash != 10 && stash != 11 && stash != 16)
      return info.Error(StatusCode::kInvalidModel, "unsupported stash_type");
    stash_ = static_cast<DataType>(stash);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "LayerNormalization needs X and Scale");
    const Tensor& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0) return ctx.Error(StatusCode::kInvalidArgument, "X must have rank >= 1");
    auto ax = NormalizeAxis(axis_, rank);
    if (!ax.ok()) return ctx.Error(StatusCode::kOutOfRange, ax.status().message());
    const int64_t axis = *ax;
    const int64_t outer = x.shape().Product(0, axis), inner = x.shape().Product(axis, rank);
    Shape norm_shape(x.shape().data() + axis, rank - axis);
    Shape stat_shape(x.shape().data(), axis);
    for (int64_t i = axis; i < rank; ++i) stat_shape.push_back(1);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), x.shape()));
    Tensor* mean_t = nullptr;
    Tensor* inv_t = nullptr;
    if (ctx.output_wanted(1)) {
      TERN_ASSIGN_OR_RETURN(mean_t, ctx.Output(1, stash_, stat_shape));
    }
    if (ctx.output_wanted(2)) {
      TERN_ASSIGN_OR_RETURN(inv_t, ctx.Output(2, stash_, stat_shape));
    }
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccT<T>;
      auto scale = Expand<A>(ctx.input(1), norm_shape, "Scale");
      if (!scale.ok()) return ctx.Error(StatusCode::kInvalidArgument, scale.status().message());
      std::vector<A> bias(static_cast<size_t>(inner), A(0));
      if (ctx.has_input(2)) {
        auto b = Expand<A>(ctx.input(2), norm_shape, "B");
        if (!b.ok()) return ctx.Error(StatusCode::kInvalidArgument, b.status().message());
        bias = std::move(b).value();
      }
      const T* px = x.data<T>();
      T* py = y->data<T>();
      for (int64_t o = 0; o < outer; ++o) {
        const T* xr = px + o * inner;
        A s = 0;
        for (int64_t i = 0; i < inner; ++i) s += static_cast<A>(xr[i]);
        const A mu = inner > 0 ? s / static_cast<A>(inner) : A(0);
        A q = 0;
        for (int64_t i = 0; i < inner; ++i) {
          const A d = static_cast<A>(xr[i]) - mu;
          q += d * d;
        }
        const A var = inner > 0 ? q / static_cast<A>(inner) : A(0);
        const A inv = A(1) / std::sqrt(var + static_cast<A>(epsilon_));
        for (int64_t i = 0; i < inner; ++i)
          py[o * inner + i] =
              static_cast<T>((static_cast<A>(xr[i]) - mu) * inv * (*scale)[i] + bias[i]);
        auto put = [&](Tensor* t, A v) {
          if (!t) return;
          (void)Visit<kFloats>(stash_, [&](auto stag) {
            using U = decltype(stag);
            t->data<U>()[o] = static_cast<U>(v);
            return Status::Ok();
          });
        };
        put(mean_t, mu);
        put(inv_t, inv);
      }
      return Status::Ok();
    });
  }

 private:
  int64_t axis_ = -1;
  float epsilon_ = 1e-5f;
  DataType stash_ = DataType::kFloat32;
};

class LrnKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    size_ = info.GetInt("size", 0);
    if (size_ <= 0) return info.Error(StatusCode::kInvalidModel, "size must be positive");
    alpha_ = info.GetFloat("alpha", 1e-4f);
    beta_ = info.GetFloat("beta", 0.75f);
    bias_ = info.GetFloat("bias", 1.0f);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "missing input X");
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2) return ctx.Error(StatusCode::kInvalidArgument, "X must have rank >= 2");
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccT<T>;
      const int64_t n = x.dim(0), c = x.dim(1), inner = x.shape().Product(2, x.rank());
      const int64_t lo = (size_ - 1) / 2, hi = size_ - 1 - lo;
      const T* px = x.data<T>();
      T* py = y->data<T>();
      const A coef = static_cast<A>(alpha_) / static_cast<A>(size_);
      for (int64_t b = 0; b < n; ++b)
        for (int64_t ci = 0; ci < c; ++ci)
          for (int64_t i = 0; i < inner; ++i) {
            A sq = 0;
            const int64_t c0 = std::max<int64_t>(0, ci - lo), c1 = std::min(c - 1, ci + hi);
            for (int64_t k = c0; k <= c1; ++k) {
              const A v = static_cast<A>(px[(b * c + k) * inner + i]);
              sq += v * v;
            }
            const int64_t at = (b * c + ci) * inner + i;
            py[at] =
                static_cast<T>(static_cast<A>(px[at]) /
                               std::pow(static_cast<A>(bias_) + coef * sq, static_cast<A>(beta_)));
          }
      return Status::Ok();
    });
  }

 private:
  int64_t size_ = 0;
  float alpha_ = 1e-4f, beta_ = 0.75f, bias_ = 1.0f;
};

class MvnKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axes_ = info.has_attr("axes") ? info.GetInts("axes") : std::vector<int64_t>{0, 2, 3};
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "missing input X");
    const Tensor& x = ctx.input(0);
    const int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<bool> reduced(static_cast<size_t>(rank), false);
    for (int64_t a : axes_) {
      auto ax = NormalizeAxis(a, rank, "axes");
      if (!ax.ok()) return ctx.Error(StatusCode::kOutOfRange, ax.status().message());
      reduced[*ax] = true;
    }
    // Stats shape: reduced dims become 1.
    Shape stat = x.shape();
    for (int64_t d = 0; d < rank; ++d)
      if (reduced[d]) stat[d] = 1;
    const int64_t nstat = stat.NumElements();
    const int64_t per = nstat > 0 ? x.numel() / nstat : 0;
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccT<T>;
      const T* px = x.data<T>();
      T* py = y->data<T>();
      std::vector<int64_t> map(static_cast<size_t>(x.numel()));
      BroadcastIterator it(x.shape(), {&stat});
      it.ForEach([&](int64_t i, const int64_t* off) { map[i] = off[0]; });
      std::vector<A> mean(static_cast<size_t>(nstat), A(0)), var(static_cast<size_t>(nstat), A(0));
      for (int64_t i = 0; i < x.numel(); ++i) mean[map[i]] += static_cast<A>(px[i]);
      for (auto& m : mean) m = per > 0 ? m / static_cast<A>(per) : A(0);
      for (int64_t i = 0; i < x.numel(); ++i) {
        const A d = static_cast<A>(px[i]) - mean[map[i]];
        var[map[i]] += d * d;
      }
      for (auto& v : var) v = per > 0 ? std::sqrt(v / static_cast<A>(per)) + A(1e-9) : A(1e-9);
      for (int64_t i = 0; i < x.numel(); ++i)
        py[i] = static_cast<T>((static_cast<A>(px[i]) - mean[map[i]]) / var[map[i]]);
      return Status::Ok();
    });
  }

 private:
  std::vector<int64_t> axes_;
};

}  // namespace

void Register_layer_norm(KernelRegistry& r) {
  r.Add("", "LayerNormalization", Create<LayerNormKernel>, 17);
  r.Add("", "LRN", Create<LrnKernel>);
  r.Add("", "MeanVarianceNormalization", Create<MvnKernel>);
}

}  // namespace tern::ref
