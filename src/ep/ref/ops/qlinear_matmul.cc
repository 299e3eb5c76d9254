// MatMulInteger and QLinearMatMul: numpy-style (batched, broadcast) matmul of 8-bit integers with
// int32 accumulation. Zero points (and scales) are per tensor, per row of A or per column of B.
#include "ep/ref/quant_util.h"

namespace tern::ref {
namespace {

using quant::Is8Bit;
using quant::Visit8;

Status CheckZeroPointType(KernelContext& ctx, const Tensor* zp, const Tensor& x, const char* what) {
  if (zp && zp->dtype() != x.dtype())
    return ctx.Error(StatusCode::kInvalidArgument,
                     std::string(what) + " type " + DataTypeName(zp->dtype()) +
                         " does not match its input's type " + DataTypeName(x.dtype()));
  return Status::Ok();
}

/// acc[b][m][n] = sum_k (a - a_zp[m]) * (b - b_zp[n]), int32 accumulation (modular).
template <typename A, typename B>
void MatMulInt32(const quant::MatMulGeometry& g, const A* a, const std::vector<int32_t>& a_zp,
                 const B* b, const std::vector<int32_t>& b_zp, int32_t* y) {
  for (int64_t bi = 0; bi < g.batch; ++bi) {
    int64_t a_off = 0, b_off = 0;
    g.BatchOffsets(bi, &a_off, &b_off);
    const A* pa = a + a_off;
    const B* pb = b + b_off;
    int32_t* py = y + bi * g.M * g.N;
    for (int64_t m = 0; m < g.M; ++m) {
      const int32_t az = a_zp.size() == 1 ? a_zp[0] : a_zp[static_cast<size_t>(m)];
      for (int64_t n = 0; n < g.N; ++n) {
        const int32_t bz = b_zp.size() == 1 ? b_zp[0] : b_zp[static_cast<size_t>(n)];
        int64_t acc = 0;
        for (int64_t k = 0; k < g.K; ++k)
          acc += static_cast<int64_t>(static_cast<int32_t>(pa[m * g.K + k]) - az) *
                 (static_cast<int32_t>(pb[k * g.N + n]) - bz);
        py[m * g.N + n] = static_cast<int32_t>(acc);
      }
    }
  }
}

Status RunInt32(KernelContext& ctx, const quant::MatMulGeometry& g, const Tensor& a,
                const std::vector<int32_t>& a_zp, const Tensor& b, const std::vector<int32_t>& b_zp,
                int32_t* out) {
  return Visit8(a.dtype(), [&](auto atag) -> Status {
    using A = decltype(atag);
    return Visit8(b.dtype(), [&](auto btag) -> Status {
      using B = decltype(btag);
      MatMulInt32(g, a.data<A>(), a_zp, b.data<B>(), b_zp, out);
      return Status::Ok();
    });
  });
}

#define RETURN_CTX_ERROR(expr)                                  \
  do {                                                          \
    ::tern::Status _st = (expr);                                \
    if (!_st.ok()) return ctx.Error(_st.code(), _st.message()); \
  } while (0)

class MatMulIntegerKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "A and B are required");
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (!Is8Bit(a.dtype()) || !Is8Bit(b.dtype()))
      return ctx.Error(StatusCode::kNotImplemented, "A and B must be int8 or uint8");
    const Tensor* a_zp_t = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    const Tensor* b_zp_t = ctx.has_input(3) ? &ctx.input(3) : nullptr;
    TERN_RETURN_IF_ERROR(CheckZeroPointType(ctx, a_zp_t, a, "a_zero_point"));
    TERN_RETURN_IF_ERROR(CheckZeroPointType(ctx, b_zp_t, b, "b_zero_point"));
    auto g = quant::ResolveMatMul(a.shape(), b.shape());
    RETURN_CTX_ERROR(g.status());
    auto a_zp = quant::ReadZeroPoints(a_zp_t, g->M, "a_zero_point");
    RETURN_CTX_ERROR(a_zp.status());
    auto b_zp = quant::ReadZeroPoints(b_zp_t, g->N, "b_zero_point");
    RETURN_CTX_ERROR(b_zp.status());
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kInt32, g->out));
    return RunInt32(ctx, *g, a, *a_zp, b, *b_zp, y->data<int32_t>());
  }
};

class QLinearMatMulKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    for (size_t i = 0; i < 8; ++i)
      if (i != 2 && i != 5 && i != 7 && !ctx.has_input(i))
        return ctx.Error(StatusCode::kInvalidArgument,
                         "input " + std::to_string(i) + " is required");
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(3);
    if (!Is8Bit(a.dtype()) || !Is8Bit(b.dtype()))
      return ctx.Error(StatusCode::kNotImplemented, "a and b must be int8 or uint8");
    const Tensor* a_zp_t = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    const Tensor* b_zp_t = ctx.has_input(5) ? &ctx.input(5) : nullptr;
    const Tensor* y_zp_t = ctx.has_input(7) ? &ctx.input(7) : nullptr;
    TERN_RETURN_IF_ERROR(CheckZeroPointType(ctx, a_zp_t, a, "a_zero_point"));
    TERN_RETURN_IF_ERROR(CheckZeroPointType(ctx, b_zp_t, b, "b_zero_point"));
    const DataType out_type = y_zp_t ? y_zp_t->dtype() : DataType::kUInt8;
    if (!Is8Bit(out_type))
      return ctx.Error(StatusCode::kNotImplemented, "y_zero_point must be int8 or uint8");
    auto g = quant::ResolveMatMul(a.shape(), b.shape());
    RETURN_CTX_ERROR(g.status());
    auto a_zp = quant::ReadZeroPoints(a_zp_t, g->M, "a_zero_point");
    RETURN_CTX_ERROR(a_zp.status());
    auto b_zp = quant::ReadZeroPoints(b_zp_t, g->N, "b_zero_point");
    RETURN_CTX_ERROR(b_zp.status());
    auto y_zp = quant::ReadZeroPoints(y_zp_t, g->N, "y_zero_point");
    RETURN_CTX_ERROR(y_zp.status());
    auto a_s = quant::ReadScales(ctx.input(1), g->M, "a_scale");
    RETURN_CTX_ERROR(a_s.status());
    auto b_s = quant::ReadScales(ctx.input(4), g->N, "b_scale");
    RETURN_CTX_ERROR(b_s.status());
    auto y_s = quant::ReadScales(ctx.input(6), g->N, "y_scale");
    RETURN_CTX_ERROR(y_s.status());

    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, out_type, g->out));
    const int64_t total = g->batch * g->M * g->N;
    std::vector<int32_t> acc(static_cast<size_t>(total));
    TERN_RETURN_IF_ERROR(RunInt32(ctx, *g, a, *a_zp, b, *b_zp, acc.data()));
    auto pick = [](const auto& v, int64_t i) {
      return v.size() == 1 ? v[0] : v[static_cast<size_t>(i)];
    };
    return Visit8(out_type, [&](auto ytag) -> Status {
      using Y = decltype(ytag);
      Y* py = y->data<Y>();
      for (int64_t i = 0; i < total; ++i) {
        const int64_t n = i % g->N;
        const int64_t m = (i / g->N) % g->M;
        // The multiplier is formed in float (as the inputs are); the product in double.
        const float mult = pick(*a_s, m) * pick(*b_s, n) / pick(*y_s, n);
        const double r = quant::RoundHalfEven(static_cast<double>(acc[static_cast<size_t>(i)]) *
                                              static_cast<double>(mult));
        py[i] = quant::Saturate<Y>(r + pick(*y_zp, n));
      }
      return Status::Ok();
    });
  }
};

}  // namespace

void Register_qlinear_matmul(KernelRegistry& r) {
  r.Add("", "MatMulInteger", Create<MatMulIntegerKernel>, 10);
  r.Add("", "QLinearMatMul", Create<QLinearMatMulKernel>, 10);
}

}  // namespace tern::ref
