// ai.tern QConv and QMatMul: what the qdq_fusion pass makes of
//   DequantizeLinear(x) -> Conv / MatMul / Gemm (weights behind a DequantizeLinear)
//   -> [activation] [-> QuantizeLinear]
// so that the product runs on integers. The contract (shared with the cpu provider):
//   inputs  0 x (uint8/int8), 1 x_scale (scalar), 2 x_zero_point (scalar, optional),
//           3 w (uint8/int8), 4 w_scale, 5 w_zero_point (optional): per tensor, or per output
//             channel (Conv: w's dim 0; QMatMul: B's columns),
//           6 bias (float32, per output channel, optional),
//           7 y_scale, 8 y_zero_point (optional; when present the output is quantized).
//   attributes: Conv's (QConv), transB (QMatMul: B stored [N, K]), activation and
//           activation_params as the other ai.tern fused ops.
//   output: v = act(float(acc) * (x_scale * w_scale[c]) + bias[c]), acc = sum (x - x_zero) *
//           (w - w_zero[c]) in int32; float32 v, or sat(round_half_even(v / y_scale) +
//           y_zero_point) in y_zero_point's type (uint8 when absent) when y_scale is given.
// QMatMul folds A's leading dimensions into rows; B is 2-D.
#include "ep/ref/fused_util.h"
#include "ep/ref/quant_util.h"

namespace tern::ref {
namespace {

using quant::Is8Bit;
using quant::Visit8;

/// The float epilogue, activation and optional requantization shared by both ops.
class QFusedBase : public OpKernel {
 public:
  Status InitBase(const KernelInfo& info) {
    if (!info.GetString("activation", "").empty()) {
      TERN_ASSIGN_OR_RETURN(Activation a, Activation::Parse(info));
      act_ = a;
      has_act_ = true;
    }
    return Status::Ok();
  }

 protected:
  /// acc holds rows x cols int32 values; channel(i, j) picks the output channel of element
  /// (i, j); writes output 0 with `shape`.
  template <typename ChannelFn>
  Status Finish(KernelContext& ctx, const std::vector<int32_t>& acc, int64_t channels,
                const Shape& shape, ChannelFn&& channel) const {
    auto x_s = quant::ReadScales(ctx.input(1), 1, "x_scale");
    if (!x_s.ok()) return ctx.Error(x_s.status().code(), x_s.status().message());
    auto w_s = quant::ReadScales(ctx.input(4), channels, "w_scale");
    if (!w_s.ok()) return ctx.Error(w_s.status().code(), w_s.status().message());
    const float* bias = nullptr;
    if (ctx.has_input(6)) {
      const Tensor& b = ctx.input(6);
      if (b.dtype() != DataType::kFloat32 || b.numel() != channels)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "bias must be float32 with " + std::to_string(channels) + " elements");
      bias = b.data<float>();
    }
    std::vector<float> v(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) {
      const int64_t c = channel(static_cast<int64_t>(i));
      const float ws = w_s->size() == 1 ? (*w_s)[0] : (*w_s)[static_cast<size_t>(c)];
      v[i] = static_cast<float>(acc[i]) * ((*x_s)[0] * ws) + (bias ? bias[c] : 0.0f);
    }
    if (has_act_) act_.Apply(v.data(), static_cast<int64_t>(v.size()));
    if (!ctx.has_input(7)) {
      TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, shape));
      std::copy(v.begin(), v.end(), y->data<float>());
      return Status::Ok();
    }
    auto y_s = quant::ReadScales(ctx.input(7), 1, "y_scale");
    if (!y_s.ok()) return ctx.Error(y_s.status().code(), y_s.status().message());
    const Tensor* y_zp = ctx.has_input(8) ? &ctx.input(8) : nullptr;
    if (y_zp && y_zp->numel() != 1)
      return ctx.Error(StatusCode::kInvalidArgument, "y_zero_point must be a scalar");
    const DataType out_type = y_zp ? y_zp->dtype() : DataType::kUInt8;
    const int32_t zero = quant::ReadZeroPoint(y_zp, 0);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, out_type, shape));
    return Visit8(out_type, [&](auto tag) -> Status {
      using Y = decltype(tag);
      Y* py = y->data<Y>();
      for (size_t i = 0; i < v.size(); ++i) {
        const float q = v[i] / (*y_s)[0];
        py[i] = quant::Saturate<Y>(quant::RoundHalfEven(static_cast<double>(q)) + zero);
      }
      return Status::Ok();
    });
  }

  Status CheckTypes(KernelContext& ctx, const Tensor*& x_zp, const Tensor*& w_zp) const {
    for (size_t i : {0, 1, 3, 4})
      if (!ctx.has_input(i))
        return ctx.Error(StatusCode::kInvalidArgument,
                         "input " + std::to_string(i) + " is required");
    x_zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    w_zp = ctx.has_input(5) ? &ctx.input(5) : nullptr;
    if (!Is8Bit(ctx.input(0).dtype()) || !Is8Bit(ctx.input(3).dtype()))
      return ctx.Error(StatusCode::kNotImplemented, "x and w must be int8 or uint8");
    if ((x_zp && x_zp->dtype() != ctx.input(0).dtype()) ||
        (w_zp && w_zp->dtype() != ctx.input(3).dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "zero point types must match their inputs");
    if (x_zp && x_zp->numel() != 1)
      return ctx.Error(StatusCode::kInvalidArgument, "x_zero_point must be a scalar");
    return Status::Ok();
  }

  Activation act_;
  bool has_act_ = false;
};

class QConvKernel : public QFusedBase {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(attrs_.Init(info));
    return InitBase(info);
  }
  Status Compute(KernelContext& ctx) const override {
    const Tensor *x_zp = nullptr, *w_zp = nullptr;
    TERN_RETURN_IF_ERROR(CheckTypes(ctx, x_zp, w_zp));
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(3);
    auto geo = attrs_.Resolve(x.shape(), w.shape());
    if (!geo.ok()) return ctx.Error(geo.status().code(), geo.status().message());
    const quant::ConvGeometry& g = *geo;
    auto wz = quant::ReadZeroPoints(w_zp, g.out_channels, "w_zero_point");
    if (!wz.ok()) return ctx.Error(wz.status().code(), wz.status().message());
    const Shape shape = g.OutputShape();
    std::vector<int32_t> acc(static_cast<size_t>(shape.NumElements()));
    const int32_t xz = quant::ReadZeroPoint(x_zp, 0);
    TERN_RETURN_IF_ERROR(Visit8(x.dtype(), [&](auto xt) -> Status {
      return Visit8(w.dtype(), [&](auto wt) -> Status {
        quant::ConvInt32(g, x.data<decltype(xt)>(), xz, w.data<decltype(wt)>(), *wz, acc.data());
        return Status::Ok();
      });
    }));
    const int64_t plane = shape.Product(2, shape.rank());
    return Finish(ctx, acc, g.out_channels, shape,
                  [&](int64_t i) { return plane == 0 ? 0 : (i / plane) % g.out_channels; });
  }

 private:
  quant::ConvAttrs attrs_;
};

class QMatMulKernel : public QFusedBase {
 public:
  Status Init(const KernelInfo& info) {
    trans_b_ = info.GetInt("transB", 0) != 0;
    return InitBase(info);
  }
  Status Compute(KernelContext& ctx) const override {
    const Tensor *a_zp = nullptr, *b_zp = nullptr;
    TERN_RETURN_IF_ERROR(CheckTypes(ctx, a_zp, b_zp));
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(3);
    if (b.rank() != 2 || a.rank() == 0)
      return ctx.Error(StatusCode::kInvalidArgument, "B must be 2-D and A at least 1-D");
    const int64_t k = trans_b_ ? b.dim(1) : b.dim(0), n = trans_b_ ? b.dim(0) : b.dim(1);
    if (a.dim(a.rank() - 1) != k)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "A " + a.shape().ToString() + " must end in K=" + std::to_string(k));
    auto bz = quant::ReadZeroPoints(b_zp, n, "b_zero_point");
    if (!bz.ok()) return ctx.Error(bz.status().code(), bz.status().message());
    const int32_t az = quant::ReadZeroPoint(a_zp, 0);
    const int64_t rows = a.numel() / std::max<int64_t>(k, 1);
    Shape shape = a.shape();
    shape[shape.rank() - 1] = n;
    std::vector<int32_t> acc(static_cast<size_t>(rows * n));
    TERN_RETURN_IF_ERROR(Visit8(a.dtype(), [&](auto at) -> Status {
      return Visit8(b.dtype(), [&](auto bt) -> Status {
        const auto* pa = a.data<decltype(at)>();
        const auto* pb = b.data<decltype(bt)>();
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < n; ++j) {
            const int32_t z = bz->size() == 1 ? (*bz)[0] : (*bz)[static_cast<size_t>(j)];
            int64_t s = 0;
            for (int64_t kk = 0; kk < k; ++kk) {
              const int32_t bv = trans_b_ ? pb[j * k + kk] : pb[kk * n + j];
              s += static_cast<int64_t>(static_cast<int32_t>(pa[i * k + kk]) - az) * (bv - z);
            }
            acc[static_cast<size_t>(i * n + j)] = static_cast<int32_t>(s);
          }
        return Status::Ok();
      });
    }));
    return Finish(ctx, acc, n, shape, [&](int64_t i) { return i % n; });
  }

 private:
  bool trans_b_ = false;
};

}  // namespace

void Register_qfused(KernelRegistry& r) {
  r.Add("ai.tern", "QConv", Create<QConvKernel>);
  r.Add("ai.tern", "QMatMul", Create<QMatMulKernel>);
}

}  // namespace tern::ref
