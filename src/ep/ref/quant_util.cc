#include "ep/ref/quant_util.h"

#include <algorithm>

namespace tern::ref::quant {

Result<AxisParams> ResolveAxisParams(const Shape& x, const Tensor& scale, const Tensor* zero_point,
                                     int64_t axis) {
  AxisParams p;
  const bool per_tensor = scale.rank() == 0 || (scale.rank() == 1 && scale.dim(0) == 1);
  if (scale.rank() > 1)
    return InvalidArgument("scale must be a scalar or a 1-D tensor, got shape " +
                           scale.shape().ToString());
  if (zero_point && zero_point->shape() != scale.shape() &&
      !(per_tensor && zero_point->numel() == 1))
    return InvalidArgument("zero point shape " + zero_point->shape().ToString() +
                           " does not match scale shape " + scale.shape().ToString());
  if (per_tensor) return p;
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (rank == 0) return InvalidArgument("per-axis quantization needs an input of rank >= 1");
  TERN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axis, rank));
  if (scale.dim(0) != x[static_cast<size_t>(a)])
    return InvalidArgument("scale has " + std::to_string(scale.dim(0)) +
                           " elements but input axis " + std::to_string(a) + " has " +
                           std::to_string(x[static_cast<size_t>(a)]));
  p.count = scale.dim(0);
  p.outer = x.Product(0, static_cast<size_t>(a));
  p.inner = x.Product(static_cast<size_t>(a) + 1, x.rank());
  return p;
}

Result<AxisParams> ResolveBlockParams(const Shape& x, const Tensor& scale, const Tensor* zero_point,
                                      int64_t axis, int64_t block_size) {
  const int64_t rank = static_cast<int64_t>(x.rank());
  if (rank == 0) return InvalidArgument("blocked quantization needs an input of rank >= 1");
  TERN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(axis, rank));
  const size_t ax = static_cast<size_t>(a);
  Shape want = x;
  want[ax] = (x[ax] + block_size - 1) / block_size;
  if (scale.shape() != want)
    return InvalidArgument("blocked scale has shape " + scale.shape().ToString() + ", expected " +
                           want.ToString() + " (block_size " + std::to_string(block_size) +
                           " along axis " + std::to_string(a) + ")");
  if (zero_point && zero_point->shape() != want)
    return InvalidArgument("zero point shape " + zero_point->shape().ToString() +
                           " does not match scale shape " + want.ToString());
  AxisParams p;
  p.count = want[ax];
  p.outer = x.Product(0, ax);
  p.inner = x.Product(ax + 1, x.rank());
  p.block = block_size;
  p.length = x[ax];
  return p;
}

int32_t ReadZeroPoint(const Tensor* zp, int64_t i) {
  if (!zp) return 0;
  switch (zp->dtype()) {
    case DataType::kUInt8:
      return zp->data<uint8_t>()[i];
    case DataType::kInt8:
      return zp->data<int8_t>()[i];
    case DataType::kUInt16:
      return zp->data<uint16_t>()[i];
    case DataType::kInt16:
      return zp->data<int16_t>()[i];
    case DataType::kInt32:
      return zp->data<int32_t>()[i];
    default:
      return 0;
  }
}

Shape ConvGeometry::OutputShape() const {
  Shape s{batch, out_channels};
  for (int64_t d : out_spatial) s.push_back(d);
  return s;
}

Status ConvAttrs::Init(const KernelInfo& info) {
  auto_pad = info.GetString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID" && auto_pad != "SAME_UPPER" &&
      auto_pad != "SAME_LOWER")
    return info.Error(StatusCode::kInvalidModel, "unknown auto_pad '" + auto_pad + "'");
  group = info.GetInt("group", 1);
  if (group < 1) return info.Error(StatusCode::kInvalidModel, "group must be >= 1");
  kernel_shape = info.GetInts("kernel_shape");
  strides = info.GetInts("strides");
  dilations = info.GetInts("dilations");
  pads = info.GetInts("pads");
  for (int64_t v : kernel_shape)
    if (v <= 0) return info.Error(StatusCode::kInvalidModel, "kernel_shape must be positive");
  for (int64_t v : strides)
    if (v <= 0) return info.Error(StatusCode::kInvalidModel, "strides must be positive");
  for (int64_t v : dilations)
    if (v <= 0) return info.Error(StatusCode::kInvalidModel, "dilations must be positive");
  for (int64_t v : pads)
    if (v < 0) return info.Error(StatusCode::kInvalidModel, "pads must be non-negative");
  return Status::Ok();
}

Result<ConvGeometry> ConvAttrs::Resolve(const Shape& x, const Shape& w) const {
  if (x.rank() < 3) return InvalidArgument("input must have rank >= 3, got " + x.ToString());
  if (w.rank() != x.rank())
    return InvalidArgument("weight shape " + w.ToString() + " does not match input shape " +
                           x.ToString());
  const size_t nd = x.rank() - 2;
  ConvGeometry g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = w[0];
  g.group = group;
  if (g.in_channels % group != 0 || g.in_channels / group != w[1])
    return InvalidArgument("input has " + std::to_string(x[1]) + " channels but weight expects " +
                           std::to_string(w[1]) + " x group " + std::to_string(group));
  if (g.out_channels % group != 0)
    return InvalidArgument("output channels " + std::to_string(w[0]) +
                           " are not divisible by group " + std::to_string(group));
  auto check_len = [&](const std::vector<int64_t>& v, size_t n, const char* what) -> Status {
    if (!v.empty() && v.size() != n)
      return InvalidArgument(std::string(what) + " has " + std::to_string(v.size()) +
                             " values, expected " + std::to_string(n));
    return Status::Ok();
  };
  TERN_RETURN_IF_ERROR(check_len(kernel_shape, nd, "kernel_shape"));
  TERN_RETURN_IF_ERROR(check_len(strides, nd, "strides"));
  TERN_RETURN_IF_ERROR(check_len(dilations, nd, "dilations"));
  TERN_RETURN_IF_ERROR(check_len(pads, 2 * nd, "pads"));
  g.kernel.resize(nd);
  for (size_t d = 0; d < nd; ++d) {
    g.kernel[d] = kernel_shape.empty() ? w[d + 2] : kernel_shape[d];
    if (g.kernel[d] != w[d + 2])
      return InvalidArgument("kernel_shape does not match weight shape " + w.ToString());
  }
  g.in_spatial.assign(x.begin() + 2, x.end());
  g.strides = strides.empty() ? std::vector<int64_t>(nd, 1) : strides;
  g.dilations = dilations.empty() ? std::vector<int64_t>(nd, 1) : dilations;
  g.pads = pads.empty() ? std::vector<int64_t>(2 * nd, 0) : pads;
  g.out_spatial.resize(nd);
  for (size_t d = 0; d < nd; ++d) {
    const int64_t in = g.in_spatial[d], s = g.strides[d];
    if (g.kernel[d] > (int64_t{1} << 31) || g.dilations[d] > (int64_t{1} << 31) ||
        s > (int64_t{1} << 31) || g.pads[d] > (int64_t{1} << 40) ||
        g.pads[d + nd] > (int64_t{1} << 40))
      return InvalidArgument("convolution attributes are too large");
    const int64_t eff = (g.kernel[d] - 1) * g.dilations[d] + 1;
    if (auto_pad == "VALID") {
      g.pads[d] = g.pads[d + nd] = 0;
    } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + eff - in);
      const int64_t small = total / 2;
      g.pads[d] = auto_pad == "SAME_UPPER" ? small : total - small;
      g.pads[d + nd] = total - g.pads[d];
    }
    const int64_t span = in + g.pads[d] + g.pads[d + nd] - eff;
    if (span < 0)
      return InvalidArgument("kernel is larger than the padded input in dimension " +
                             std::to_string(d));
    g.out_spatial[d] = span / s + 1;
  }
  return g;
}

Result<MatMulGeometry> ResolveMatMul(const Shape& a_in, const Shape& b_in) {
  if (a_in.rank() == 0 || b_in.rank() == 0)
    return InvalidArgument("matmul inputs must not be scalars");
  MatMulGeometry g;
  Shape a = a_in, b = b_in;
  if (a.rank() == 1) {
    g.a_vector = true;
    a = Shape{1, a_in[0]};
  }
  if (b.rank() == 1) {
    g.b_vector = true;
    b = Shape{b_in[0], 1};
  }
  g.M = a[a.rank() - 2];
  g.K = a[a.rank() - 1];
  g.N = b[b.rank() - 1];
  if (b[b.rank() - 2] != g.K)
    return InvalidArgument("matmul shapes " + a_in.ToString() + " and " + b_in.ToString() +
                           " do not match");
  Shape a_batch(a.data(), a.rank() - 2), b_batch(b.data(), b.rank() - 2);
  TERN_ASSIGN_OR_RETURN(Shape batch, BroadcastShapes({&a_batch, &b_batch}));
  g.out = batch;
  if (!g.a_vector) g.out.push_back(g.M);
  if (!g.b_vector) g.out.push_back(g.N);
  Shape full = batch;  // the output before squeezing, checked so that M * N * batch cannot overflow
  full.push_back(g.M);
  full.push_back(g.N);
  TERN_RETURN_IF_ERROR(CheckShape(full, DataType::kInt32, "matmul output"));
  g.batch = batch.NumElements();
  g.batch_dims = batch.ToVector();
  g.a_strides = BroadcastStrides(a_batch, batch);
  g.b_strides = BroadcastStrides(b_batch, batch);
  return g;
}

Result<std::vector<int32_t>> ReadZeroPoints(const Tensor* zp, int64_t expected, const char* what) {
  if (!zp) return std::vector<int32_t>{0};
  const int64_t n = zp->numel();
  if (zp->rank() > 1 && n != 1)
    return InvalidArgument(std::string(what) + " must be a scalar or a 1-D tensor, got " +
                           zp->shape().ToString());
  if (n != 1 && n != expected)
    return InvalidArgument(std::string(what) + " has " + std::to_string(n) +
                           " elements, expected 1 or " + std::to_string(expected));
  switch (zp->dtype()) {
    case DataType::kUInt8:
    case DataType::kInt8:
    case DataType::kUInt16:
    case DataType::kInt16:
    case DataType::kInt32:
      break;
    default:
      return InvalidArgument(std::string(what) + " has unsupported type " +
                             DataTypeName(zp->dtype()));
  }
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = ReadZeroPoint(zp, i);
  return v;
}

Result<std::vector<float>> ReadScales(const Tensor& s, int64_t expected, const char* what) {
  const int64_t n = s.numel();
  if (s.rank() > 1 && n != 1)
    return InvalidArgument(std::string(what) + " must be a scalar or a 1-D tensor, got " +
                           s.shape().ToString());
  if (n != 1 && n != expected)
    return InvalidArgument(std::string(what) + " has " + std::to_string(n) +
                           " elements, expected 1 or " + std::to_string(expected));
  if (!IsFloatType(s.dtype()))
    return InvalidArgument(std::string(what) + " must be a float tensor, got " +
                           DataTypeName(s.dtype()));
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = static_cast<float>(ReadAsDouble(s, i));
  return v;
}

}  // namespace tern::ref::quant
