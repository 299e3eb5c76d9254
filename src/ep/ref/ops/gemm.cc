// Gemm (transA/transB, alpha, beta, optional unidirectionally broadcast C) and MatMul (numpy
// batched broadcasting, 1-D operands). Accumulates in AccT<T> (float for the 16-bit floats).
#include <algorithm>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

constexpr unsigned kGemmTypes = kFloats | kSigned | kUnsigned;

class GemmKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    trans_a_ = info.GetInt("transA", 0) != 0;
    trans_b_ = info.GetInt("transB", 0) != 0;
    alpha_ = info.GetFloat("alpha", 1.0f);
    beta_ = info.GetFloat("beta", 1.0f);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "Gemm needs inputs A and B");
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    const Tensor* c = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (a.rank() != 2 || b.rank() != 2)
      return ctx.Error(StatusCode::kInvalidArgument, "A " + a.shape().ToString() + " and B " +
                                                         b.shape().ToString() + " must be 2-D");
    if (a.dtype() != b.dtype() || (c && c->dtype() != a.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "A, B and C types differ");
    const int64_t m = trans_a_ ? a.dim(1) : a.dim(0);
    const int64_t k = trans_a_ ? a.dim(0) : a.dim(1);
    const int64_t kb = trans_b_ ? b.dim(1) : b.dim(0);
    const int64_t n = trans_b_ ? b.dim(0) : b.dim(1);
    if (k != kb)
      return ctx.Error(
          StatusCode::kInvalidArgument,
          "inner dims differ: A " + a.shape().ToString() + ", B " + b.shape().ToString());
    Shape out_shape{m, n};
    if (c) {
      if (c->rank() > 2) return ctx.Error(StatusCode::kInvalidArgument, "C must have rank <= 2");
      auto bs = BroadcastShapes({&c->shape(), &out_shape});
      if (!bs.ok() || *bs != out_shape)
        return ctx.Error(
            StatusCode::kInvalidArgument,
            "C " + c->shape().ToString() + " cannot be broadcast to " + out_shape.ToString());
    }
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, a.dtype(), out_shape));
    return Visit<kGemmTypes>(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = nn::MatAccT<T>;
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      std::vector<A> bmat(static_cast<size_t>(k * n));  // B' as K x N
      for (int64_t p = 0; p < k; ++p)
        for (int64_t j = 0; j < n; ++j)
          bmat[p * n + j] =
              static_cast<A>(static_cast<AccT<T>>(pb[trans_b_ ? j * k + p : p * n + j]));
      std::vector<A> arow(static_cast<size_t>(k)), acc(static_cast<size_t>(n));
      std::vector<int64_t> cstr;
      if (c) cstr = BroadcastStrides(c->shape(), out_shape);
      const A alpha = nn::ScalarAttr<A>(alpha_), beta = nn::ScalarAttr<A>(beta_);
      T* py = y->data<T>();
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t p = 0; p < k; ++p)
          arow[p] = static_cast<A>(pa[trans_a_ ? p * m + i : i * k + p]);
        std::fill(acc.begin(), acc.end(), A(0));
        nn::GemmAcc<A>(1, n, k, arow.data(), k, bmat.data(), n, acc.data(), n);
        for (int64_t j = 0; j < n; ++j) {
          A v = alpha * acc[j];
          if (c) v += beta * static_cast<A>(c->data<T>()[i * cstr[0] + j * cstr[1]]);
          py[i * n + j] = static_cast<T>(v);
        }
      }
      return Status::Ok();
    });
  }

 private:
  bool trans_a_ = false, trans_b_ = false;
  float alpha_ = 1, beta_ = 1;
};

class MatMulKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "MatMul needs inputs A and B");
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != b.dtype())
      return ctx.Error(StatusCode::kInvalidArgument, "A and B types differ");
    if (a.rank() == 0 || b.rank() == 0)
      return ctx.Error(StatusCode::kInvalidArgument, "MatMul operands must have rank >= 1");
    Shape sa = a.shape(), sb = b.shape();
    const bool a1 = sa.rank() == 1, b1 = sb.rank() == 1;
    if (a1) sa = Shape{1, sa[0]};
    if (b1) sb = Shape{sb[0], 1};
    const int64_t m = sa[sa.rank() - 2], k = sa.back(), n = sb.back();
    if (sb[sb.rank() - 2] != k)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "inner dims differ: " + a.shape().ToString() + " x " + b.shape().ToString());
    Shape ba(sa.data(), sa.rank() - 2), bb(sb.data(), sb.rank() - 2);
    auto bs = BroadcastShapes({&ba, &bb});
    if (!bs.ok())
      return ctx.Error(StatusCode::kInvalidArgument, "batch dims of " + a.shape().ToString() +
                                                         " and " + b.shape().ToString() +
                                                         " cannot be broadcast");
    Shape batch = *bs;
    Shape out_shape = batch;
    if (!a1) out_shape.push_back(m);
    if (!b1) out_shape.push_back(n);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, a.dtype(), out_shape));
    return Visit<kGemmTypes>(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = nn::MatAccT<T>;
      std::vector<A> am(static_cast<size_t>(m * k)), bm(static_cast<size_t>(k * n)),
          acc(static_cast<size_t>(m * n));
      T* py = y->data<T>();
      BroadcastIterator it(batch, {&ba, &bb});
      it.ForEach([&](int64_t i, const int64_t* off) {
        nn::ToAcc(a.data<T>() + off[0] * m * k, m * k, am.data());
        nn::ToAcc(b.data<T>() + off[1] * k * n, k * n, bm.data());
        std::fill(acc.begin(), acc.end(), A(0));
        nn::GemmAcc<A>(m, n, k, am.data(), k, bm.data(), n, acc.data(), n);
        for (int64_t j = 0; j < m * n; ++j) py[i * m * n + j] = static_cast<T>(acc[j]);
      });
      return Status::Ok();
    });
  }
};

}  // namespace

void Register_gemm(KernelRegistry& r) {
  r.Add("", "Gemm", Create<GemmKernel>);
  r.Add("", "MatMul", Create<MatMulKernel>);
}

}  // namespace tern::ref
