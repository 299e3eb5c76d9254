// Per-tensor QuantizeLinear and DequantizeLinear between float32 and 8 bits, and
// DynamicQuantizeLinear: the conversions at the edges of the int8 parts of a quantized model.
// Per-axis parameters, other types and run-time scales fall back to the reference kernels.
#include <algorithm>
#include <cmath>

#include "ep/cpu/cpu_common.h"
#include "ep/cpu/qgemm.h"
#include "ep/ref/quant_util.h"

namespace tern::cpu {
namespace {

namespace quant = ref::quant;

using quant::Is8Bit;

/// Reads a constant float32 scalar scale (slot 1) and an optional 8-bit scalar zero point (slot 2).
Status ReadScalarParams(const KernelInfo& info, float* scale, int32_t* zero, DataType* zp_type) {
  const Tensor* s = info.constant_input(1);
  const Tensor* z = info.has_input(2) ? info.constant_input(2) : nullptr;
  if (!s || (info.has_input(2) && !z))
    return NotImplemented("scale and zero point must be constants");
  if (s->dtype() != DataType::kFloat32 || s->numel() != 1)
    return NotImplemented("only a float32 per-tensor scale");
  if (z && (!Is8Bit(z->dtype()) || z->numel() != 1))
    return NotImplemented("only an int8 or uint8 per-tensor zero point");
  *scale = s->data<float>()[0];
  *zero = quant::ReadZeroPoint(z, 0);
  *zp_type = z ? z->dtype() : DataType::kUInt8;
  return Status::Ok();
}

class QuantizeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "x"));
    if (info.GetInt("output_dtype", 0) != 0 && !info.has_input(2))
      return NotImplemented("output_dtype without a zero point");
    return ReadScalarParams(info, &scale_, &zero_, &type_);
  }
  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, type_, x.shape()));
    const float* px = x.data<float>();
    const float scale = scale_;
    const int32_t zero = zero_;
    const DataType type = type_;
    void* out = y->raw();
    ParallelRange(ctx.thread_pool(), x.numel(), 1 << 16, [&](int64_t b, int64_t e) {
      QuantizeF32(px + b, static_cast<size_t>(e - b), scale, zero, type, out,
                  static_cast<size_t>(b));
    });
    return Status::Ok();
  }

 private:
  float scale_ = 1;
  int32_t zero_ = 0;
  DataType type_ = DataType::kUInt8;
};

class DequantizeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(ReadScalarParams(info, &scale_, &zero_, &type_));
    if (info.input_type(0).elem != type_) return NotImplemented("x must be int8 or uint8");
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != type_) return ctx.Error(StatusCode::kInvalidArgument, "x type changed");
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, x.shape()));
    float* py = y->data<float>();
    const float scale = scale_;
    const int32_t zero = zero_;
    const bool u8 = type_ == DataType::kUInt8;
    const uint8_t* pu = u8 ? x.data<uint8_t>() : nullptr;
    const int8_t* ps = u8 ? nullptr : x.data<int8_t>();
    ParallelRange(ctx.thread_pool(), x.numel(), 1 << 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        py[i] = static_cast<float>((u8 ? int32_t{pu[i]} : int32_t{ps[i]}) - zero) * scale;
    });
    return Status::Ok();
  }

 private:
  float scale_ = 1;
  int32_t zero_ = 0;
  DataType type_ = DataType::kUInt8;
};

class DynamicQuantizeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) { return RequireFloat32(info, 0, "x"); }
  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    const float* px = x.data<float>();
    const int64_t n = x.numel();
    float lo = 0.f, hi = 0.f;  // the range always includes zero; NaN is skipped (fmin/fmax)
    for (int64_t i = 0; i < n; ++i) {
      lo = std::fmin(lo, px[i]);
      hi = std::fmax(hi, px[i]);
    }
    const float scale = (hi - lo) / 255.f;
    const bool usable = scale > 0.f && std::isfinite(scale);
    uint8_t zp = 0;
    if (usable) {
      uint8_t z[1];
      QuantizeF32(&lo, 1, -scale, 0, DataType::kUInt8, z, 0);  // round(0 - lo / scale)
      zp = z[0];
    }
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kUInt8, x.shape()));
    uint8_t* py = y->data<uint8_t>();
    if (usable)
      ParallelRange(ctx.thread_pool(), n, 1 << 16, [&](int64_t b, int64_t e) {
        QuantizeF32(px + b, static_cast<size_t>(e - b), scale, zp, DataType::kUInt8, py,
                    static_cast<size_t>(b));
      });
    else
      std::fill(py, py + n, uint8_t{0});
    return quant::WriteDynamicQuantParams(ctx, scale, zp);
  }
};

}  // namespace

void Register_qlinear(KernelRegistry& r) {
  r.Add("", "QuantizeLinear", Create<QuantizeKernel>, 10);
  r.Add("", "DequantizeLinear", Create<DequantizeKernel>, 10);
  r.Add("", "DynamicQuantizeLinear", Create<DynamicQuantizeKernel>, 11);
}

}  // namespace tern::cpu
