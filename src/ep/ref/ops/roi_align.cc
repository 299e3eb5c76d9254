// RoiAlign (opset 10, 16): average or max of bilinear samples over a regular grid in each output
// bin of each region of interest; coordinate_transformation_mode half_pixel (opset 16 default)
// or output_half_pixel (the opset 10 behaviour).
#include <algorithm>
#include <cmath>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

class RoiAlignKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const std::string mode = info.GetString("mode", "avg");
    if (mode != "avg" && mode != "max")
      return info.Error(StatusCode::kInvalidModel, "mode must be avg or max");
    max_ = mode == "max";
    out_h_ = info.GetInt("output_height", 1);
    out_w_ = info.GetInt("output_width", 1);
    sampling_ratio_ = info.GetInt("sampling_ratio", 0);
    spatial_scale_ = info.GetFloat("spatial_scale", 1.0f);
    const std::string ctm = info.GetString("coordinate_transformation_mode",
                                           info.opset() >= 16 ? "half_pixel" : "output_half_pixel");
    if (ctm != "half_pixel" && ctm != "output_half_pixel")
      return info.Error(StatusCode::kInvalidModel,
                        "unknown coordinate_transformation_mode '" + ctm + "'");
    half_pixel_ = ctm == "half_pixel";
    if (out_h_ <= 0 || out_w_ <= 0 || sampling_ratio_ < 0 || out_h_ > (1 << 24) ||
        out_w_ > (1 << 24) || sampling_ratio_ > (1 << 16))
      return info.Error(StatusCode::kInvalidModel,
                        "output_height/output_width must be positive, sampling_ratio >= 0");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    for (size_t i = 0; i < 3; ++i)
      if (!ctx.has_input(i))
        return ctx.Error(StatusCode::kInvalidArgument, "RoiAlign needs X, rois, batch_indices");
    const Tensor& x = ctx.input(0);
    const Tensor& rois = ctx.input(1);
    const Tensor& bi = ctx.input(2);
    if (x.rank() != 4) return ctx.Error(StatusCode::kInvalidArgument, "X must be 4-D");
    if (rois.rank() != 2 || rois.dim(1) != 4 || !IsFloatType(rois.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "rois must be a float (num_rois, 4) tensor");
    if (bi.rank() != 1 || bi.dim(0) != rois.dim(0))
      return ctx.Error(StatusCode::kInvalidArgument, "batch_indices must be (num_rois)");
    auto batch = ReadInts(bi, "batch_indices");
    if (!batch.ok()) return ctx.Error(StatusCode::kInvalidArgument, batch.status().message());
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    for (int64_t b : *batch)
      if (b < 0 || b >= n)
        return ctx.Error(StatusCode::kOutOfRange,
                         "batch index " + std::to_string(b) + " is out of range");
    auto r = nn::ReadFloats<double>(rois, "rois");
    if (!r.ok()) return ctx.Error(StatusCode::kInvalidArgument, r.status().message());
    const int64_t nr = rois.dim(0);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), Shape{nr, c, out_h_, out_w_}));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccT<T>;
      const double off = half_pixel_ ? 0.5 : 0.0;
      for (int64_t ri = 0; ri < nr; ++ri) {
        const double* roi = r->data() + ri * 4;
        const double x0 = roi[0] * spatial_scale_ - off, y0 = roi[1] * spatial_scale_ - off;
        const double x1 = roi[2] * spatial_scale_ - off, y1 = roi[3] * spatial_scale_ - off;
        double rw = x1 - x0, rh = y1 - y0;
        if (!half_pixel_) {
          rw = std::max(rw, 1.0);
          rh = std::max(rh, 1.0);
        }
        if (!std::isfinite(rw) || !std::isfinite(rh) || std::abs(rw) > 1e9 || std::abs(rh) > 1e9 ||
            !std::isfinite(x0) || !std::isfinite(y0))
          return ctx.Error(StatusCode::kInvalidArgument, "roi coordinates are not finite");
        const double bh = rh / static_cast<double>(out_h_), bw = rw / static_cast<double>(out_w_);
        const int64_t gh = sampling_ratio_ > 0
                               ? sampling_ratio_
                               : std::max<int64_t>(0, static_cast<int64_t>(std::ceil(bh)));
        const int64_t gw = sampling_ratio_ > 0
                               ? sampling_ratio_
                               : std::max<int64_t>(0, static_cast<int64_t>(std::ceil(bw)));
        if (gh * gw > (int64_t{1} << 26))
          return ctx.Error(StatusCode::kInvalidArgument,
                           "roi " + std::to_string(ri) + " needs too many samples per bin");
        const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
        for (int64_t ci = 0; ci < c; ++ci) {
          const T* plane = x.data<T>() + ((*batch)[ri] * c + ci) * h * w;
          auto at = [&](int64_t yy, int64_t xx) {
            return static_cast<double>(static_cast<A>(plane[yy * w + xx]));
          };
          for (int64_t ph = 0; ph < out_h_; ++ph)
            for (int64_t pw = 0; pw < out_w_; ++pw) {
              double acc = 0;
              bool first = true;
              for (int64_t iy = 0; iy < gh; ++iy) {
                double yy = y0 + ph * bh + (iy + 0.5) * bh / static_cast<double>(gh);
                for (int64_t ix = 0; ix < gw; ++ix) {
                  double xx = x0 + pw * bw + (ix + 0.5) * bw / static_cast<double>(gw);
                  double v = 0;
                  if (!(yy < -1.0 || yy > h || xx < -1.0 || xx > w) && h > 0 && w > 0) {
                    double sy = std::max(yy, 0.0), sx = std::max(xx, 0.0);
                    int64_t ylo = static_cast<int64_t>(sy), xlo = static_cast<int64_t>(sx);
                    int64_t yhi, xhi;
                    if (ylo >= h - 1) {
                      ylo = yhi = h - 1;
                      sy = static_cast<double>(ylo);
                    } else {
                      yhi = ylo + 1;
                    }
                    if (xlo >= w - 1) {
                      xlo = xhi = w - 1;
                      sx = static_cast<double>(xlo);
                    } else {
                      xhi = xlo + 1;
                    }
                    const double ly = sy - ylo, lx = sx - xlo, hy = 1 - ly, hx = 1 - lx;
                    const double t1 = hy * hx * at(ylo, xlo), t2 = hy * lx * at(ylo, xhi);
                    const double t3 = ly * hx * at(yhi, xlo), t4 = ly * lx * at(yhi, xhi);
                    v = max_ ? std::max(std::max(t1, t2), std::max(t3, t4)) : t1 + t2 + t3 + t4;
                  }
                  if (max_) {
                    acc = first ? v : std::max(acc, v);
                  } else {
                    acc += v;
                  }
                  first = false;
                }
              }
              const double out = max_ ? acc : acc / count;
              y->data<T>()[((ri * c + ci) * out_h_ + ph) * out_w_ + pw] =
                  static_cast<T>(static_cast<A>(out));
            }
        }
      }
      return Status::Ok();
    });
  }

 private:
  bool max_ = false, half_pixel_ = true;
  int64_t out_h_ = 1, out_w_ = 1, sampling_ratio_ = 0;
  float spatial_scale_ = 1.0f;
};

}  // namespace

void Register_roi_align(KernelRegistry& r) { r.Add("", "RoiAlign", Create<RoiAlignKernel>); }

}  // namespace tern::ref
