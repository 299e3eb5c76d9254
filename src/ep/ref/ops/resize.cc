// Resize (opsets 10, 11, 13, 18, 19) and the deprecated Upsample (7, 9): nearest, linear and
// cubic interpolation over any axes, every coordinate_transformation_mode, nearest_mode,
// cubic_coeff_a, exclude_outside, extrapolation_value (tf_crop_and_resize), scales or sizes,
// antialias, axes and keep_aspect_ratio_policy. Follows the ONNX reference: the output is a
// separable weighted sum whose per-axis taps come from the transformed coordinate.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ep/ref/nn_util.h"
#include "ep/ref/resize_coords.h"

namespace tern::ref {
namespace {

enum class Mode { kNearest, kLinear, kCubic };
using resize::Ctm;
using resize::Nearest;
enum class Policy { kStretch, kNotLarger, kNotSmaller };

struct Tap {
  int64_t index;
  double weight;
};

// The taps of one output coordinate along one axis; `outside` marks extrapolation.
struct AxisTaps {
  std::vector<std::vector<Tap>> taps;
  std::vector<bool> outside;
};

class ResizeKernel : public OpKernel {
 public:
  explicit ResizeKernel(bool upsample) : upsample_(upsample) {}

  Status Init(const KernelInfo& info) {
    opset_ = info.opset();
    legacy_ = upsample_ || opset_ < 11;
    const std::string mode = info.GetString("mode", "nearest");
    if (mode == "nearest")
      mode_ = Mode::kNearest;
    else if (mode == "linear" || (legacy_ && mode == "bilinear"))
      mode_ = Mode::kLinear;
    else if (mode == "cubic" && !legacy_)
      mode_ = Mode::kCubic;
    else
      return info.Error(StatusCode::kInvalidModel, "unknown mode '" + mode + "'");
    if (legacy_) {
      ctm_ = Ctm::kAsymmetric;
      nearest_ = Nearest::kSimple;
      if (upsample_ && opset_ < 9) {
        attr_scales_ = info.GetFloats("scales");
        if (attr_scales_.empty())
          return info.Error(StatusCode::kInvalidModel, "Upsample needs the scales attribute");
      }
      return Status::Ok();
    }
    const std::string ctm = info.GetString("coordinate_transformation_mode", "half_pixel");
    if (!resize::ParseCtm(ctm, &ctm_))
      return info.Error(StatusCode::kInvalidModel,
                        "unknown coordinate_transformation_mode '" + ctm + "'");
    const std::string nm = info.GetString("nearest_mode", "round_prefer_floor");
    if (!resize::ParseNearest(nm, &nearest_))
      return info.Error(StatusCode::kInvalidModel, "unknown nearest_mode '" + nm + "'");
    cubic_a_ = info.GetFloat("cubic_coeff_a", -0.75f);
    exclude_outside_ = info.GetInt("exclude_outside", 0) != 0;
    extrapolation_ = info.GetFloat("extrapolation_value", 0.0f);
    antialias_ = opset_ >= 18 && info.GetInt("antialias", 0) != 0;
    if (opset_ >= 18) {
      axes_ = info.GetInts("axes");
      const std::string p = info.GetString("keep_aspect_ratio_policy", "stretch");
      if (p == "stretch")
        policy_ = Policy::kStretch;
      else if (p == "not_larger")
        policy_ = Policy::kNotLarger;
      else if (p == "not_smaller")
        policy_ = Policy::kNotSmaller;
      else
        return info.Error(StatusCode::kInvalidModel,
                          "unknown keep_aspect_ratio_policy '" + p + "'");
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "missing input X");
    const Tensor& x = ctx.input(0);
    const size_t rank = x.rank();
    std::vector<double> scale(rank, 1.0), roi_start(rank, 0.0), roi_end(rank, 1.0);
    std::vector<int64_t> out(x.shape().begin(), x.shape().end());
    Status st = Plan(ctx, x, &scale, &roi_start, &roi_end, &out);
    if (!st.ok()) return ctx.Error(st.code(), st.message());
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), Shape(out)));
    if (y->numel() == 0) return Status::Ok();
    if (x.numel() == 0)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "cannot resize an empty input to " + y->shape().ToString());
    std::vector<AxisTaps> axes(rank);
    for (size_t d = 0; d < rank; ++d)
      BuildAxis(x.dim(d), out[d], scale[d], roi_start[d], roi_end[d], &axes[d]);
    constexpr unsigned kTypes = kNumeric | kBoolType;
    return Visit<kTypes>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = std::conditional_t<kIsFloat<T>, AccT<T>, double>;
      const T* px = x.data<T>();
      T* py = y->data<T>();
      const auto in_strides = Strides(x.shape());
      std::vector<int64_t> oidx(rank, 0), t(rank, 0);
      for (int64_t o = 0; o < y->numel(); ++o) {
        bool outside = false;
        for (size_t d = 0; d < rank; ++d) outside = outside || axes[d].outside[oidx[d]];
        A acc = 0;
        if (outside) {
          acc = static_cast<A>(extrapolation_);
        } else {
          std::fill(t.begin(), t.end(), 0);
          while (true) {
            double w = 1;
            int64_t off = 0;
            for (size_t d = 0; d < rank; ++d) {
              const Tap& tp = axes[d].taps[oidx[d]][t[d]];
              w *= tp.weight;
              off += tp.index * in_strides[d];
            }
            if constexpr (std::is_same_v<T, bool>) {
              acc += static_cast<A>(w) * static_cast<A>(px[off] ? 1 : 0);
            } else {
              acc += static_cast<A>(w) * static_cast<A>(static_cast<AccT<T>>(px[off]));
            }
            size_t d = rank;
            while (d-- > 0) {
              if (++t[d] < static_cast<int64_t>(axes[d].taps[oidx[d]].size())) break;
              t[d] = 0;
            }
            if (d == static_cast<size_t>(-1)) break;
          }
        }
        if constexpr (std::is_same_v<T, bool>) {
          py[o] = acc != A(0);
        } else {
          if constexpr (std::is_integral_v<T>) {
            // Cubic taps can overshoot the input range; saturate before truncating.
            const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
            const double hi = static_cast<double>(std::numeric_limits<T>::max());
            const double v = std::isnan(acc) ? 0.0 : std::clamp(static_cast<double>(acc), lo, hi);
            py[o] = v >= hi ? std::numeric_limits<T>::max() : static_cast<T>(v);
          } else {
            py[o] = static_cast<T>(acc);
          }
        }
        nn::NextIndex(oidx, out);
      }
      return Status::Ok();
    });
  }

 private:
  Status Plan(KernelContext& ctx, const Tensor& x, std::vector<double>* scale,
              std::vector<double>* roi_start, std::vector<double>* roi_end,
              std::vector<int64_t>* out) const {
    const int64_t rank = static_cast<int64_t>(x.rank());
    std::vector<int64_t> axes;
    if (axes_.empty()) {
      for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
    } else {
      std::vector<bool> seen(static_cast<size_t>(rank), false);
      for (int64_t a : axes_) {
        TERN_ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(a, rank, "axes"));
        if (seen[ax]) return InvalidArgument("repeated axis in axes");
        seen[ax] = true;
        axes.push_back(ax);
      }
    }
    const size_t na = axes.size();
    std::vector<double> scales;
    std::vector<int64_t> sizes;
    const Tensor* scales_t = nullptr;
    const Tensor* sizes_t = nullptr;
    if (legacy_) {
      if (upsample_ && opset_ < 9) {
        scales.assign(attr_scales_.begin(), attr_scales_.end());
      } else if (ctx.has_input(1)) {
        scales_t = &ctx.input(1);
      } else {
        return InvalidArgument("scales input is required");
      }
    } else {
      if (ctx.has_input(1) && ctx.input(1).numel() > 0 && ctm_ == Ctm::kTfCropAndResize) {
        TERN_ASSIGN_OR_RETURN(auto roi, nn::ReadFloats<double>(ctx.input(1), "roi"));
        if (roi.size() != 2 * na)
          return InvalidArgument("roi must have " + std::to_string(2 * na) + " values");
        for (size_t i = 0; i < na; ++i) {
          (*roi_start)[axes[i]] = roi[i];
          (*roi_end)[axes[i]] = roi[na + i];
        }
      }
      if (ctx.has_input(2) && ctx.input(2).numel() > 0) scales_t = &ctx.input(2);
      if (ctx.has_input(3) && ctx.input(3).numel() > 0) sizes_t = &ctx.input(3);
      if ((scales_t != nullptr) == (sizes_t != nullptr))
        return InvalidArgument("exactly one of scales and sizes must be given");
    }
    if (scales_t) {
      TERN_ASSIGN_OR_RETURN(scales, nn::ReadFloats<double>(*scales_t, "scales"));
    }
    if (sizes_t) {
      TERN_ASSIGN_OR_RETURN(sizes, ReadInts(*sizes_t, "sizes"));
    }
    if (!scales.empty() || scales_t) {
      if (scales.size() != na)
        return InvalidArgument("scales must have " + std::to_string(na) + " values, got " +
                               std::to_string(scales.size()));
      for (size_t i = 0; i < na; ++i) {
        const double s = scales[i];
        const double o = std::floor(static_cast<double>(x.dim(axes[i])) * s);
        if (!(s > 0) || !(o < 9.0e15)) return InvalidArgument("scales must be positive and finite");
        (*scale)[axes[i]] = s;
        (*out)[axes[i]] = static_cast<int64_t>(o);
      }
    } else {
      if (sizes.size() != na)
        return InvalidArgument("sizes must have " + std::to_string(na) + " values");
      for (int64_t s : sizes)
        if (s < 0) return InvalidArgument("sizes must be non-negative");
      if (policy_ != Policy::kStretch) {
        double s = policy_ == Policy::kNotLarger ? 1e300 : 0;
        for (size_t i = 0; i < na; ++i) {
          const double r = static_cast<double>(sizes[i]) / static_cast<double>(x.dim(axes[i]));
          s = policy_ == Policy::kNotLarger ? std::min(s, r) : std::max(s, r);
        }
        for (size_t i = 0; i < na; ++i) {
          (*scale)[axes[i]] = s;
          const double o = std::floor(s * static_cast<double>(x.dim(axes[i])) + 0.5);
          if (!(o >= 0 && o < 9.0e15)) return InvalidArgument("bad output size");
          (*out)[axes[i]] = static_cast<int64_t>(o);
        }
      } else {
        for (size_t i = 0; i < na; ++i) {
          (*out)[axes[i]] = sizes[i];
          (*scale)[axes[i]] = static_cast<double>(sizes[i]) / static_cast<double>(x.dim(axes[i]));
        }
      }
    }
    for (size_t d = 0; d < out->size(); ++d)
      if ((*out)[d] > (int64_t{1} << 40)) return InvalidArgument("output dim too large");
    return Status::Ok();
  }

  void BuildAxis(int64_t in, int64_t out, double scale, double start, double end,
                 AxisTaps* a) const {
    a->taps.assign(static_cast<size_t>(out), {});
    a->outside.assign(static_cast<size_t>(out), false);
    const bool identity = in == out && scale == 1.0 && ctm_ != Ctm::kTfCropAndResize;
    for (int64_t o = 0; o < out; ++o) {
      auto& taps = a->taps[o];
      if (identity) {
        taps.push_back({o, 1.0});
        continue;
      }
      double xo = resize::InputCoordinate(ctm_, static_cast<double>(o), in, out, scale, start, end);
      if (ctm_ == Ctm::kTfCropAndResize &&
          (xo < 0 || xo > static_cast<double>(in - 1) || !std::isfinite(xo))) {
        a->outside[o] = true;
        taps.push_back({0, 0.0});
        continue;
      }
      if (!std::isfinite(xo)) xo = 0;
      xo = std::clamp(xo, -1e15, 1e15);
      const double base = std::floor(xo);
      const double t = xo - base;
      const int64_t ib = static_cast<int64_t>(base);
      std::vector<std::pair<int64_t, double>> raw;  // (offset from base, weight)
      if (mode_ == Mode::kNearest) {
        const int64_t off = resize::NearestOffset(nearest_, t, scale);
        raw.push_back({off, 1.0});
      } else {
        const double s = antialias_ ? std::min(scale, 1.0) : 1.0;
        if (mode_ == Mode::kLinear) {
          const int64_t first = static_cast<int64_t>(std::floor(-1 / s)) + 1;
          const int64_t n = 2 - 2 * first;
          for (int64_t k = 0; k < n; ++k) {
            const double arg = (static_cast<double>(first + k) - t) * s;
            raw.push_back({first + k, std::clamp(1 - std::abs(arg), 0.0, 1.0)});
          }
        } else if (!antialias_) {
          double w[4];
          nn::CubicWeights(t, cubic_a_, w);
          for (int k = 0; k < 4; ++k) raw.push_back({k - 1, w[k]});
        } else {
          const double ca = cubic_a_;
          const int64_t first = static_cast<int64_t>(std::floor(-2 / s)) + 1;
          for (int64_t k = first; k < 2 - first; ++k) {
            const double v = std::abs(s * (static_cast<double>(k) - t));
            double c = 0;
            if (v <= 1)
              c = ((ca + 2) * v - (ca + 3)) * v * v + 1;
            else if (v < 2)
              c = ((ca * v - 5 * ca) * v + 8 * ca) * v - 4 * ca;
            raw.push_back({k, c});
          }
        }
        if (antialias_) Normalize(&raw);
      }
      if (exclude_outside_) {
        for (auto& [off, w] : raw)
          if (ib + off < 0 || ib + off >= in) w = 0;
        Normalize(&raw);
      }
      for (auto [off, w] : raw) {
        if (w == 0) continue;
        taps.push_back({std::clamp<int64_t>(ib + off, 0, in - 1), w});
      }
      if (taps.empty()) taps.push_back({std::clamp<int64_t>(ib, 0, in - 1), 0.0});
    }
  }

  static void Normalize(std::vector<std::pair<int64_t, double>>* raw) {
    double sum = 0;
    for (auto& r : *raw) sum += r.second;
    if (sum != 0)
      for (auto& r : *raw) r.second /= sum;
  }

  bool upsample_;
  bool legacy_ = false;
  int opset_ = 0;
  Mode mode_ = Mode::kNearest;
  Ctm ctm_ = Ctm::kHalfPixel;
  Nearest nearest_ = Nearest::kRoundPreferFloor;
  Policy policy_ = Policy::kStretch;
  double cubic_a_ = -0.75;
  bool exclude_outside_ = false, antialias_ = false;
  float extrapolation_ = 0.0f;
  std::vector<int64_t> axes_;
  std::vector<float> attr_scales_;
};

class Resize : public ResizeKernel {
 public:
  Resize() : ResizeKernel(false) {}
};
class Upsample : public ResizeKernel {
 public:
  Upsample() : ResizeKernel(true) {}
};

}  // namespace

void Register_resize(KernelRegistry& r) {
  r.Add("", "Resize", Create<Resize>, 10);
  r.Add("", "Upsample", Create<Upsample>);
}

}  // namespace tern::ref
