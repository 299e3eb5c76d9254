// Shared helpers for the quantization kernels: exact rounding and saturation, per-tensor or
// per-axis quantization parameters, convolution geometry and integer convolution/matmul with
// int32 accumulation.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ep/ref/ref_common.h"

namespace tern::ref::quant {

/// Rounds to the nearest integer, ties to even, independent of the FPU rounding mode.
inline double RoundHalfEven(double x) {
  double r = std::floor(x);
  double diff = x - r;
  if (diff > 0.5) return r + 1;
  if (diff < 0.5) return r;
  return std::fmod(r, 2.0) == 0 ? r : r + 1;
}

/// Clamps a (possibly non-finite) value into the range of the integer type Q.
template <typename Q>
Q Saturate(double v) {
  constexpr double lo = static_cast<double>(std::numeric_limits<Q>::min());
  constexpr double hi = static_cast<double>(std::numeric_limits<Q>::max());
  if (std::isnan(v)) return Q{0};
  if (v <= lo) return std::numeric_limits<Q>::min();
  if (v >= hi) return std::numeric_limits<Q>::max();
  return static_cast<Q>(v);
}

/// Quantization parameters (scale and zero point) applied along one axis or per tensor.
struct AxisParams {
  int64_t count = 1;   ///< number of distinct parameter sets (1 = per tensor)
  int64_t outer = 1;   ///< product of dims before the axis
  int64_t inner = 1;   ///< product of dims after the axis
  int64_t block = 0;   ///< blocked (opset 21): elements along the axis per parameter set
  int64_t length = 1;  ///< blocked: x's size along the axis
  /// Index of the parameter set for flat element i.
  int64_t Index(int64_t i) const {
    if (block > 0) {
      // The parameters have x's shape with the axis shrunk to count = ceil(length / block).
      const int64_t along = (i / inner) % length, o = i / (inner * length);
      return (o * count + along / block) * inner + i % inner;
    }
    return count == 1 ? 0 : (i / inner) % count;
  }
};

/// Decides per-tensor vs per-axis from the scale's shape (a scalar or a 1-element 1-D tensor is
/// per tensor; a 1-D tensor of x.shape[axis] elements is per axis). `zero_point` may be nullptr.
Result<AxisParams> ResolveAxisParams(const Shape& x, const Tensor& scale, const Tensor* zero_point,
                                     int64_t axis);

/// Blocked quantization (opset 21 `block_size`): scale (and zero point) have x's rank and shape,
/// except ceil(x.shape[axis] / block_size) along the axis.
Result<AxisParams> ResolveBlockParams(const Shape& x, const Tensor& scale, const Tensor* zero_point,
                                      int64_t axis, int64_t block_size);

/// Reads the zero point of an integer tensor as int32 element i (0 when `zp` is nullptr).
int32_t ReadZeroPoint(const Tensor* zp, int64_t i);

/// Geometry of an N-d convolution (NCHW...).
struct ConvGeometry {
  int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
  std::vector<int64_t> in_spatial, kernel, strides, dilations, pads, out_spatial;
  Shape OutputShape() const;
};

/// Conv attributes parsed once at kernel creation.
struct ConvAttrs {
  std::string auto_pad = "NOTSET";
  int64_t group = 1;
  std::vector<int64_t> kernel_shape, strides, dilations, pads;
  Status Init(const KernelInfo& info);
  /// Validates x [N,C,...] and w [M,C/group,k...] and computes the output geometry.
  Result<ConvGeometry> Resolve(const Shape& x, const Shape& w) const;
};

/// Integer convolution: y[n,m,...] = sum (x - x_zp) * (w - w_zp[m]) with int32 accumulation.
/// `w_zp` has 1 or out_channels entries. Padded positions contribute zero.
template <typename X, typename W>
void ConvInt32(const ConvGeometry& g, const X* x, int32_t x_zp, const W* w,
               const std::vector<int32_t>& w_zp, int32_t* y);

/// Matrix shapes of a numpy-style (batched, broadcast) matmul.
struct MatMulGeometry {
  int64_t M = 0, K = 0, N = 0;
  int64_t batch = 1;
  Shape out;
  bool a_vector = false, b_vector = false;  ///< 1-D operands (promoted and squeezed back)
  std::vector<int64_t> batch_dims, a_strides, b_strides;  ///< broadcast batch dims and strides
  /// Element offsets of the A and B matrices of output batch bi.
  void BatchOffsets(int64_t bi, int64_t* a_off, int64_t* b_off) const {
    int64_t ao = 0, bo = 0;
    for (size_t d = batch_dims.size(); d-- > 0;) {
      const int64_t c = bi % batch_dims[d];
      bi /= batch_dims[d];
      ao += c * a_strides[d];
      bo += c * b_strides[d];
    }
    *a_off = ao * M * K;
    *b_off = bo * K * N;
  }
};
Result<MatMulGeometry> ResolveMatMul(const Shape& a, const Shape& b);

/// Reads per-row (M entries) or per-column (N entries) int zero points; `what` names the input.
Result<std::vector<int32_t>> ReadZeroPoints(const Tensor* zp, int64_t expected, const char* what);
/// Reads scalar or 1-D float scales (float32/float16/bfloat16/double) as float.
Result<std::vector<float>> ReadScales(const Tensor& s, int64_t expected, const char* what);

template <typename X, typename W>
void ConvInt32(const ConvGeometry& g, const X* x, int32_t x_zp, const W* w,
               const std::vector<int32_t>& w_zp, int32_t* y) {
  const size_t nd = g.kernel.size();
  int64_t in_size = 1, out_size = 1, k_size = 1;
  for (size_t d = 0; d < nd; ++d) {
    in_size *= g.in_spatial[d];
    out_size *= g.out_spatial[d];
    k_size *= g.kernel[d];
  }
  const int64_t cpg = g.in_channels / g.group;
  const int64_t mpg = g.out_channels / g.group;
  std::vector<int64_t> oc(nd), kc(nd);
  for (int64_t n = 0; n < g.batch; ++n) {
    for (int64_t m = 0; m < g.out_channels; ++m) {
      const int64_t grp = m / mpg;
      const int32_t wz = w_zp.size() == 1 ? w_zp[0] : w_zp[static_cast<size_t>(m)];
      int32_t* yo = y + (n * g.out_channels + m) * out_size;
      for (int64_t o = 0; o < out_size; ++o) {
        for (int64_t d = static_cast<int64_t>(nd) - 1, r = o; d >= 0; --d) {
          oc[d] = r % g.out_spatial[d];
          r /= g.out_spatial[d];
        }
        int64_t acc = 0;
        for (int64_t c = 0; c < cpg; ++c) {
          const X* xc = x + (n * g.in_channels + grp * cpg + c) * in_size;
          const W* wc = w + (m * cpg + c) * k_size;
          for (int64_t k = 0; k < k_size; ++k) {
            for (int64_t d = static_cast<int64_t>(nd) - 1, r = k; d >= 0; --d) {
              kc[d] = r % g.kernel[d];
              r /= g.kernel[d];
            }
            int64_t idx = 0;
            bool inside = true;
            for (size_t d = 0; d < nd; ++d) {
              int64_t p = oc[d] * g.strides[d] - g.pads[d] + kc[d] * g.dilations[d];
              if (p < 0 || p >= g.in_spatial[d]) {
                inside = false;
                break;
              }
              idx = idx * g.in_spatial[d] + p;
            }
            if (!inside) continue;
            acc += static_cast<int64_t>(static_cast<int32_t>(xc[idx]) - x_zp) *
                   (static_cast<int32_t>(wc[k]) - wz);
          }
        }
        yo[o] = static_cast<int32_t>(acc);  // modular, as int32 accumulation would wrap
      }
    }
  }
}

/// uint8 or int8: the types of the 8-bit quantized ops.
inline bool Is8Bit(DataType t) { return t == DataType::kUInt8 || t == DataType::kInt8; }

/// Calls fn(uint8_t{}) or fn(int8_t{}) for an 8-bit type; NotImplemented for any other.
template <typename Fn>
Status Visit8(DataType t, Fn&& fn) {
  if (t == DataType::kUInt8) return fn(uint8_t{});
  if (t == DataType::kInt8) return fn(int8_t{});
  return NotImplemented(std::string("type ") + DataTypeName(t) + " is not supported");
}

/// DynamicQuantizeLinear's scalar outputs 1 (y_scale) and 2 (y_zero_point), where wanted.
inline Status WriteDynamicQuantParams(KernelContext& ctx, float scale, uint8_t zp) {
  if (ctx.output_wanted(1)) {
    TERN_ASSIGN_OR_RETURN(Tensor * s, ctx.Output(1, DataType::kFloat32, Shape{}));
    s->data<float>()[0] = scale;
  }
  if (ctx.output_wanted(2)) {
    TERN_ASSIGN_OR_RETURN(Tensor * z, ctx.Output(2, DataType::kUInt8, Shape{}));
    z->data<uint8_t>()[0] = zp;
  }
  return Status::Ok();
}

}  // namespace tern::ref::quant
