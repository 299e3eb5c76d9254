// QuantizeLinear, DequantizeLinear (per tensor, per axis, or blocked along an axis as in opset
// 21) and DynamicQuantizeLinear.
// Quantization rounds half to even and saturates to the range of the output type.
#include <algorithm>

#include "ep/ref/quant_util.h"

namespace tern::ref {
namespace {

constexpr unsigned kQuantTypes = kSigned | kUnsigned;

bool IsQuantType(DataType t) {
  return t == DataType::kUInt8 || t == DataType::kInt8 || t == DataType::kUInt16 ||
         t == DataType::kInt16;
}

class QuantizeLinearKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.opset() >= 13 ? info.GetInt("axis", 1) : 1;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "x and y_scale are required");
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    const DataType out_type = zp ? zp->dtype() : DataType::kUInt8;
    if (!IsQuantType(out_type))
      return ctx.Error(StatusCode::kNotImplemented,
                       std::string("unsupported output type ") + DataTypeName(out_type));
    if (!IsFloatType(scale.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "y_scale must be a float tensor");
    if (!IsFloatType(x.dtype()) && x.dtype() != DataType::kInt32)
      return ctx.Error(StatusCode::kInvalidArgument,
                       std::string("unsupported input type ") + DataTypeName(x.dtype()));
    auto params = quant::ResolveAxisParams(x.shape(), scale, zp, axis_);
    if (!params.ok()) return ctx.Error(params.status().code(), params.status().message());
    const quant::AxisParams p = *params;
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, out_type, x.shape()));
    const int64_t n = x.numel();
    return Visit<kQuantTypes>(out_type, [&](auto qtag) -> Status {
      using Q = decltype(qtag);
      Q* py = y->data<Q>();
      return Visit<kFloats | kSigned>(x.dtype(), [&](auto tag) -> Status {
        using T = decltype(tag);
        // float inputs divide in their own precision (float for 16-bit); int32 in double.
        using C =
            std::conditional_t<std::is_same_v<T, double> || std::is_integral_v<T>, double, float>;
        const T* px = x.data<T>();
        for (int64_t i = 0; i < n; ++i) {
          const int64_t k = p.Index(i);
          const C s = static_cast<C>(ReadAsDouble(scale, k));
          const C q = static_cast<C>(static_cast<AccT<T>>(px[i])) / s;
          const double r = quant::RoundHalfEven(static_cast<double>(q)) +
                           quant::ReadZeroPoint(zp, zp && zp->numel() == 1 ? 0 : k);
          py[i] = quant::Saturate<Q>(r);
        }
        return Status::Ok();
      });
    });
  }

 private:
  int64_t axis_ = 1;
};

class DequantizeLinearKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.opset() >= 13 ? info.GetInt("axis", 1) : 1;
    block_size_ = info.opset() >= 21 ? info.GetInt("block_size", 0) : 0;
    if (block_size_ < 0) return info.Error(StatusCode::kInvalidModel, "block_size must be >= 0");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "x and x_scale are required");
    const Tensor& x = ctx.input(0);
    const Tensor& scale = ctx.input(1);
    const Tensor* zp = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (!IsQuantType(x.dtype()) && x.dtype() != DataType::kInt32)
      return ctx.Error(StatusCode::kNotImplemented,
                       std::string("unsupported input type ") + DataTypeName(x.dtype()));
    if (zp && zp->dtype() != x.dtype())
      return ctx.Error(StatusCode::kInvalidArgument, "x_zero_point type must match the type of x");
    if (!IsFloatType(scale.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "x_scale must be a float tensor");
    quant::AxisParams p;
    if (block_size_ > 0) {
      auto blocked = quant::ResolveBlockParams(x.shape(), scale, zp, axis_, block_size_);
      if (!blocked.ok()) return ctx.Error(blocked.status().code(), blocked.status().message());
      p = *blocked;
    } else {
      auto params = quant::ResolveAxisParams(x.shape(), scale, zp, axis_);
      if (!params.ok()) return ctx.Error(params.status().code(), params.status().message());
      p = *params;
    }
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, scale.dtype(), x.shape()));
    const int64_t n = x.numel();
    return Visit<kFloats>(scale.dtype(), [&](auto ftag) -> Status {
      using F = decltype(ftag);
      using C = AccT<F>;
      F* py = y->data<F>();
      const F* ps = scale.data<F>();
      return Visit<kSigned | kUnsigned>(x.dtype(), [&](auto tag) -> Status {
        using T = decltype(tag);
        const T* px = x.data<T>();
        for (int64_t i = 0; i < n; ++i) {
          const int64_t k = p.Index(i);
          const int64_t z = quant::ReadZeroPoint(zp, zp && zp->numel() == 1 ? 0 : k);
          const C d = static_cast<C>(static_cast<int64_t>(px[i]) - z);
          py[i] = static_cast<F>(d * static_cast<C>(ps[scale.numel() == 1 ? 0 : k]));
        }
        return Status::Ok();
      });
    });
  }

 private:
  int64_t axis_ = 1;
  int64_t block_size_ = 0;  ///< opset 21: consecutive elements along axis_ that share a scale
};

class DynamicQuantizeLinearKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "x is required");
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DataType::kFloat32)
      return ctx.Error(StatusCode::kNotImplemented, "x must be float32");
    const float* px = x.data<float>();
    const int64_t n = x.numel();
    float lo = 0.f, hi = 0.f;  // the range always includes zero
    for (int64_t i = 0; i < n; ++i) {
      if (std::isnan(px[i])) continue;
      lo = std::min(lo, px[i]);
      hi = std::max(hi, px[i]);
    }
    const float scale = (hi - lo) / 255.f;
    uint8_t zp = 0;
    if (scale > 0.f && std::isfinite(scale))
      zp = quant::Saturate<uint8_t>(quant::RoundHalfEven(static_cast<double>(0.f - lo / scale)));
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kUInt8, x.shape()));
    uint8_t* py = y->data<uint8_t>();
    for (int64_t i = 0; i < n; ++i) {
      if (scale > 0.f && std::isfinite(scale)) {
        const float q = px[i] / scale;
        py[i] = quant::Saturate<uint8_t>(quant::RoundHalfEven(static_cast<double>(q)) + zp);
      } else {
        py[i] = 0;
      }
    }
    return quant::WriteDynamicQuantParams(ctx, scale, zp);
  }
};

}  // namespace

void Register_quantize_linear(KernelRegistry& r) {
  r.Add("", "QuantizeLinear", Create<QuantizeLinearKernel>, 10);
  r.Add("", "DequantizeLinear", Create<DequantizeLinearKernel>, 10);
  r.Add("", "DynamicQuantizeLinear", Create<DynamicQuantizeLinearKernel>, 11);
}

}  // namespace tern::ref
