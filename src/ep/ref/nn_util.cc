#include "ep/ref/nn_util.h"

#include <algorithm>
#include <limits>

namespace tern::ref::nn {

Status ParseWindowAttrs(const KernelInfo& info, bool with_ceil, WindowAttrs* a) {
  std::string ap = info.GetString("auto_pad", "NOTSET");
  if (ap == "NOTSET" || ap.empty()) {
    a->auto_pad = AutoPad::kNotSet;
  } else if (ap == "SAME_UPPER") {
    a->auto_pad = AutoPad::kSameUpper;
  } else if (ap == "SAME_LOWER") {
    a->auto_pad = AutoPad::kSameLower;
  } else if (ap == "VALID") {
    a->auto_pad = AutoPad::kValid;
  } else {
    return info.Error(StatusCode::kInvalidModel, "unknown auto_pad '" + ap + "'");
  }
  a->kernel_shape = info.GetInts("kernel_shape");
  a->strides = info.GetInts("strides");
  a->dilations = info.GetInts("dilations");
  a->pads = info.GetInts("pads");
  if (with_ceil) a->ceil_mode = info.GetInt("ceil_mode", 0) != 0;
  for (int64_t k : a->kernel_shape)
    if (k <= 0) return info.Error(StatusCode::kInvalidModel, "kernel_shape must be positive");
  for (int64_t s : a->strides)
    if (s <= 0) return info.Error(StatusCode::kInvalidModel, "strides must be positive");
  for (int64_t d : a->dilations)
    if (d <= 0) return info.Error(StatusCode::kInvalidModel, "dilations must be positive");
  for (int64_t p : a->pads)
    if (p < 0) return info.Error(StatusCode::kInvalidModel, "pads must be non-negative");
  if (a->pads.size() % 2 != 0)
    return info.Error(StatusCode::kInvalidModel, "pads must have an even number of values");
  return Status::Ok();
}

static Status FillDefault(const std::vector<int64_t>& given, size_t n, int64_t fill,
                          const char* what, std::vector<int64_t>* out) {
  if (given.empty()) {
    out->assign(n, fill);
    return Status::Ok();
  }
  if (given.size() != n)
    return InvalidArgument(std::string(what) + " has " + std::to_string(given.size()) +
                           " values, expected " + std::to_string(n));
  *out = given;
  return Status::Ok();
}

Status ResolveWindow(const WindowAttrs& a, const std::vector<int64_t>& in,
                     const std::vector<int64_t>& kernel, bool pool, Window* w) {
  const size_t nd = in.size();
  w->nd = nd;
  w->in = in;
  if (kernel.size() != nd)
    return InvalidArgument("kernel has " + std::to_string(kernel.size()) +
                           " spatial dims, input has " + std::to_string(nd));
  w->kernel = kernel;
  TERN_RETURN_IF_ERROR(FillDefault(a.strides, nd, 1, "strides", &w->strides));
  TERN_RETURN_IF_ERROR(FillDefault(a.dilations, nd, 1, "dilations", &w->dilations));
  std::vector<int64_t> pads;
  TERN_RETURN_IF_ERROR(FillDefault(a.pads, 2 * nd, 0, "pads", &pads));
  w->pad_begin.assign(pads.begin(), pads.begin() + nd);
  w->pad_end.assign(pads.begin() + nd, pads.end());
  w->out.resize(nd);
  constexpr int64_t kBig = int64_t{1} << 40;
  for (size_t i = 0; i < nd; ++i) {
    const int64_t k = kernel[i], s = w->strides[i], d = w->dilations[i];
    if (k <= 0 || s <= 0 || d <= 0 || k > kBig || s > kBig || d > kBig || in[i] > kBig ||
        pads[i] > kBig || pads[nd + i] > kBig)
      return InvalidArgument("invalid kernel, stride, dilation or pad");
    const int64_t dk = (k - 1) * d + 1;
    int64_t& o = w->out[i];
    switch (a.auto_pad) {
      case AutoPad::kSameUpper:
      case AutoPad::kSameLower: {
        o = (in[i] + s - 1) / s;
        int64_t total = std::max<int64_t>(0, (o - 1) * s + dk - in[i]);
        int64_t small = total / 2, large = total - small;
        w->pad_begin[i] = a.auto_pad == AutoPad::kSameUpper ? small : large;
        w->pad_end[i] = a.auto_pad == AutoPad::kSameUpper ? large : small;
        break;
      }
      case AutoPad::kValid:
        w->pad_begin[i] = w->pad_end[i] = 0;
        o = in[i] >= dk ? (in[i] - dk) / s + 1 : 0;
        if (in[i] < dk) o = -1;
        break;
      case AutoPad::kNotSet: {
        const int64_t span = in[i] + w->pad_begin[i] + w->pad_end[i] - dk;
        if (span < 0) {
          o = -1;
          break;
        }
        if (pool && a.ceil_mode) {
          o = (span + s - 1) / s + 1;
          // The last window must start inside the input or the leading pad.
          if ((o - 1) * s >= in[i] + w->pad_begin[i]) --o;
        } else {
          o = span / s + 1;
        }
        break;
      }
    }
    if (o < 0 || (o == 0 && in[i] > 0))
      return InvalidArgument("input spatial dim " + std::to_string(in[i]) +
                             " is smaller than the (dilated, padded) kernel " + std::to_string(dk));
  }
  return Status::Ok();
}

Result<int64_t> CheckedProduct(const std::vector<int64_t>& dims) {
  int64_t p = 1;
  for (int64_t d : dims) {
    if (d < 0) return InvalidArgument("negative dimension");
    if (d != 0 && p > std::numeric_limits<int64_t>::max() / d)
      return ResourceExhausted("size overflows int64");
    p *= d;
  }
  return p;
}

void CubicWeights(double t, double a, double w[4]) {
  const double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
  w[0] = ((a * t1 - 5 * a) * t1 + 8 * a) * t1 - 4 * a;
  w[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  w[2] = ((a + 2) * t2 - (a + 3)) * t2 * t2 + 1;
  w[3] = ((a * t3 - 5 * a) * t3 + 8 * a) * t3 - 4 * a;
}

}  // namespace tern::ref::nn
