// ConvInteger and QLinearConv: N-d grouped convolution of 8-bit integers with int32 accumulation.
// The input zero point is per tensor; weight zero points and scales are per tensor or per output
// channel. Padding contributes zero (it stands for the zero point).
#include "ep/ref/quant_util.h"

namespace tern::ref {
namespace {

using quant::Is8Bit;
using quant::Visit8;

/// Validates the inputs shared by both ops and runs the integer convolution into `acc`.
class ConvIntegerBase : public OpKernel {
 public:
  Status Init(const KernelInfo& info) { return attrs_.Init(info); }

 protected:
  /// x and w are the data tensors, zps are optional; on success `g` describes the output.
  Status Prepare(KernelContext& ctx, const Tensor& x, const Tensor* x_zp, const Tensor& w,
                 const Tensor* w_zp, quant::ConvGeometry* g, int32_t* x_zero,
                 std::vector<int32_t>* w_zero) const {
    if (!Is8Bit(x.dtype()) || !Is8Bit(w.dtype()))
      return ctx.Error(StatusCode::kNotImplemented, "x and w must be int8 or uint8");
    if (x_zp && x_zp->dtype() != x.dtype())
      return ctx.Error(StatusCode::kInvalidArgument, "x_zero_point type must match x");
    if (w_zp && w_zp->dtype() != w.dtype())
      return ctx.Error(StatusCode::kInvalidArgument, "w_zero_point type must match w");
    auto geo = attrs_.Resolve(x.shape(), w.shape());
    if (!geo.ok()) return ctx.Error(geo.status().code(), geo.status().message());
    *g = *geo;
    if (x_zp && x_zp->numel() != 1)
      return ctx.Error(StatusCode::kInvalidArgument, "x_zero_point must be a scalar");
    *x_zero = quant::ReadZeroPoint(x_zp, 0);
    auto wz = quant::ReadZeroPoints(w_zp, g->out_channels, "w_zero_point");
    if (!wz.ok()) return ctx.Error(wz.status().code(), wz.status().message());
    *w_zero = std::move(wz).value();
    return Status::Ok();
  }

  static Status Run(const quant::ConvGeometry& g, const Tensor& x, int32_t x_zero, const Tensor& w,
                    const std::vector<int32_t>& w_zero, int32_t* out) {
    return Visit8(x.dtype(), [&](auto xtag) -> Status {
      using X = decltype(xtag);
      return Visit8(w.dtype(), [&](auto wtag) -> Status {
        using W = decltype(wtag);
        quant::ConvInt32(g, x.data<X>(), x_zero, w.data<W>(), w_zero, out);
        return Status::Ok();
      });
    });
  }

  quant::ConvAttrs attrs_;
};

class ConvIntegerKernel : public ConvIntegerBase {
 public:
  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "x and w are required");
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    quant::ConvGeometry g;
    int32_t x_zero = 0;
    std::vector<int32_t> w_zero;
    TERN_RETURN_IF_ERROR(Prepare(ctx, x, ctx.has_input(2) ? &ctx.input(2) : nullptr, w,
                                 ctx.has_input(3) ? &ctx.input(3) : nullptr, &g, &x_zero, &w_zero));
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kInt32, g.OutputShape()));
    return Run(g, x, x_zero, w, w_zero, y->data<int32_t>());
  }
};

class QLinearConvKernel : public ConvIntegerBase {
 public:
  Status Compute(KernelContext& ctx) const override {
    for (size_t i : {0, 1, 3, 4, 6})
      if (!ctx.has_input(i))
        return ctx.Error(StatusCode::kInvalidArgument,
                         "input " + std::to_string(i) + " is required");
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(3);
    const Tensor* y_zp = ctx.has_input(7) ? &ctx.input(7) : nullptr;
    quant::ConvGeometry g;
    int32_t x_zero = 0;
    std::vector<int32_t> w_zero;
    TERN_RETURN_IF_ERROR(Prepare(ctx, x, ctx.has_input(2) ? &ctx.input(2) : nullptr, w,
                                 ctx.has_input(5) ? &ctx.input(5) : nullptr, &g, &x_zero, &w_zero));
    const DataType out_type = y_zp ? y_zp->dtype() : DataType::kUInt8;
    if (!Is8Bit(out_type))
      return ctx.Error(StatusCode::kNotImplemented, "y_zero_point must be int8 or uint8");
    if (y_zp && y_zp->numel() != 1)
      return ctx.Error(StatusCode::kInvalidArgument, "y_zero_point must be a scalar");
    const int32_t y_zero = quant::ReadZeroPoint(y_zp, 0);
    auto x_s = quant::ReadScales(ctx.input(1), 1, "x_scale");
    if (!x_s.ok()) return ctx.Error(x_s.status().code(), x_s.status().message());
    auto w_s = quant::ReadScales(ctx.input(4), g.out_channels, "w_scale");
    if (!w_s.ok()) return ctx.Error(w_s.status().code(), w_s.status().message());
    auto y_s = quant::ReadScales(ctx.input(6), 1, "y_scale");
    if (!y_s.ok()) return ctx.Error(y_s.status().code(), y_s.status().message());
    const int32_t* bias = nullptr;
    if (ctx.has_input(8)) {
      const Tensor& b = ctx.input(8);
      if (b.dtype() != DataType::kInt32 || b.rank() != 1 || b.dim(0) != g.out_channels)
        return ctx.Error(
            StatusCode::kInvalidArgument,
            "B must be a 1-D int32 tensor of " + std::to_string(g.out_channels) + " elements");
      bias = b.data<int32_t>();
    }

    const Shape out_shape = g.OutputShape();
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, out_type, out_shape));
    const int64_t total = out_shape.NumElements();
    const int64_t plane = out_shape.Product(2, out_shape.rank());
    std::vector<int32_t> acc(static_cast<size_t>(total));
    TERN_RETURN_IF_ERROR(Run(g, x, x_zero, w, w_zero, acc.data()));
    return Visit8(out_type, [&](auto ytag) -> Status {
      using Y = decltype(ytag);
      Y* py = y->data<Y>();
      for (int64_t i = 0; i < total; ++i) {
        const int64_t m = plane == 0 ? 0 : (i / plane) % g.out_channels;
        const float ws = w_s->size() == 1 ? (*w_s)[0] : (*w_s)[static_cast<size_t>(m)];
        const float mult = (*x_s)[0] * ws / (*y_s)[0];
        int64_t a = acc[static_cast<size_t>(i)];
        if (bias) a = static_cast<int32_t>(a + bias[m]);
        const double r = quant::RoundHalfEven(static_cast<double>(a) * static_cast<double>(mult));
        py[i] = quant::Saturate<Y>(r + y_zero);
      }
      return Status::Ok();
    });
  }
};

}  // namespace

void Register_qlinear_conv(KernelRegistry& r) {
  r.Add("", "ConvInteger", Create<ConvIntegerKernel>, 10);
  r.Add("", "QLinearConv", Create<QLinearConvKernel>, 10);
}

}  // namespace tern::ref
