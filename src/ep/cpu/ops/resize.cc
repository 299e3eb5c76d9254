// Resize (opset 11+) of NCHW float32 images over H and W, nearest or linear, with the
// coordinate transformations that need no region of interest. The source coordinate of every
// output row and column is computed once per run (in double, with the ONNX formulas, so nearest
// picks the same pixel as the reference); each output row is then a gather (nearest: a row that
// repeats the previous source row is copied) or a blend of two source rows (linear).
// Cubic, antialias, axes, keep_aspect_ratio_policy, tf_crop_and_resize and exclude_outside stay
// on ref; so do run-time cases that resize N or C, or other ranks (through a kept ref kernel).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ep/cpu/cpu_common.h"
#include "ep/ref/ref_common.h"
#include "ep/ref/resize_coords.h"

namespace tern::cpu {
namespace {

using ref::resize::Ctm;
using ref::resize::Nearest;

// Source position along one axis: the lower index, the upper index and the upper weight
// (nearest uses lo only).
struct AxisMap {
  std::vector<int64_t> lo, hi;
  std::vector<float> w;
};

class ResizeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    if (info.opset() < 11) return NotImplemented("Resize before opset 11");
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "X"));
    const std::string mode = info.GetString("mode", "nearest");
    if (mode != "nearest" && mode != "linear")
      return NotImplemented("mode '" + mode + "' runs on ref");
    linear_ = mode == "linear";
    const std::string ctm = info.GetString("coordinate_transformation_mode", "half_pixel");
    // tf_crop_and_resize needs the roi input: it stays on ref.
    if (!ref::resize::ParseCtm(ctm, &ctm_) || ctm_ == Ctm::kTfCropAndResize)
      return NotImplemented("coordinate_transformation_mode '" + ctm + "' runs on ref");
    const std::string nm = info.GetString("nearest_mode", "round_prefer_floor");
    if (!ref::resize::ParseNearest(nm, &nearest_))
      return NotImplemented("nearest_mode '" + nm + "' runs on ref");
    if (info.GetInt("antialias", 0) != 0 || info.has_attr("axes") ||
        info.GetString("keep_aspect_ratio_policy", "stretch") != "stretch" ||
        (linear_ && info.GetInt("exclude_outside", 0) != 0))
      return NotImplemented(
          "antialias, axes, keep_aspect_ratio_policy and exclude_outside run on ref");
    TERN_ASSIGN_OR_RETURN(ref_, MakeRefKernel(info));
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    double scale[4];
    int64_t out[4];
    if (x.dtype() != DataType::kFloat32 || x.rank() != 4 || !Plan(ctx, x, scale, out) ||
        out[0] != x.dim(0) || out[1] != x.dim(1) || x.numel() == 0)
      return ref_->Compute(ctx);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, Shape(out, 4)));
    if (y->numel() == 0) return Status::Ok();
    thread_local AxisMap rows, cols;
    Map(x.dim(2), out[2], scale[2], &rows);
    Map(x.dim(3), out[3], scale[3], &cols);
    const int64_t ih = x.dim(2), iw = x.dim(3), oh = out[2], ow = out[3];
    const float* px = x.data<float>();
    float* py = y->data<float>();
    const AxisMap& r = rows;
    const AxisMap& c = cols;
    auto body = [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const float* xp = px + p * ih * iw;
        float* yp = py + p * oh * ow;
        for (int64_t oy = 0; oy < oh; ++oy) {
          float* yr = yp + oy * ow;
          if (!linear_) {
            if (oy > 0 && r.lo[oy] == r.lo[oy - 1]) {
              std::memcpy(yr, yr - ow, static_cast<size_t>(ow) * sizeof(float));
              continue;
            }
            const float* xr = xp + r.lo[oy] * iw;
            for (int64_t ox = 0; ox < ow; ++ox) yr[ox] = xr[c.lo[ox]];
            continue;
          }
          const float* x0 = xp + r.lo[oy] * iw;
          const float* x1 = xp + r.hi[oy] * iw;
          const float wy = r.w[oy];
          for (int64_t ox = 0; ox < ow; ++ox) {
            const float wx = c.w[ox];
            const int64_t a = c.lo[ox], b = c.hi[ox];
            const float top = x0[a] + wx * (x0[b] - x0[a]);
            const float bottom = x1[a] + wx * (x1[b] - x1[a]);
            yr[ox] = top + wy * (bottom - top);
          }
        }
      }
    };
    ParallelRange(ctx.thread_pool(), x.dim(0) * x.dim(1),
                  std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(oh * ow, 1)), std::cref(body));
    return Status::Ok();
  }

 private:
  // Output dims and scales from the scales (input 2) or sizes (input 3); false when neither or
  // both are usable here (the reference kernel then reports or handles it).
  bool Plan(KernelContext& ctx, const Tensor& x, double* scale, int64_t* out) const {
    const bool has_scales = ctx.has_input(2) && ctx.input(2).numel() > 0;
    const bool has_sizes = ctx.has_input(3) && ctx.input(3).numel() > 0;
    if (has_scales == has_sizes) return false;
    const Tensor& t = ctx.input(has_scales ? 2 : 3);
    if (t.numel() != 4) return false;
    for (size_t d = 0; d < 4; ++d) {
      const double in = static_cast<double>(x.dim(d));
      if (has_scales) {
        if (t.dtype() != DataType::kFloat32) return false;
        scale[d] = t.data<float>()[d];
        const double o = std::floor(in * scale[d]);
        if (!(scale[d] > 0) || !(o < 9.0e15)) return false;
        out[d] = static_cast<int64_t>(o);
      } else {
        if (t.dtype() != DataType::kInt64) return false;
        out[d] = t.data<int64_t>()[d];
        if (out[d] < 0) return false;
        scale[d] = static_cast<double>(out[d]) / in;
      }
      if (out[d] > (int64_t{1} << 40)) return false;
    }
    return true;
  }

  void Map(int64_t in, int64_t out, double scale, AxisMap* m) const {
    m->lo.resize(static_cast<size_t>(out));
    m->hi.resize(static_cast<size_t>(out));
    m->w.resize(static_cast<size_t>(out));
    const bool identity = in == out && scale == 1.0;
    auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
    for (int64_t o = 0; o < out; ++o) {
      double xo = identity
                      ? static_cast<double>(o)
                      : ref::resize::InputCoordinate(ctm_, static_cast<double>(o), in, out, scale);
      if (!std::isfinite(xo)) xo = 0;
      xo = std::clamp(xo, -1e15, 1e15);
      const double base = std::floor(xo);
      const double t = xo - base;
      const int64_t ib = static_cast<int64_t>(base);
      if (!linear_) {
        const int64_t off = ref::resize::NearestOffset(nearest_, t, scale);
        m->lo[o] = m->hi[o] = clamp(ib + off);
        m->w[o] = 0;
      } else {
        m->lo[o] = clamp(ib);
        m->hi[o] = clamp(ib + 1);
        m->w[o] = static_cast<float>(t);
      }
    }
  }

  bool linear_ = false;
  Ctm ctm_ = Ctm::kHalfPixel;
  Nearest nearest_ = Nearest::kRoundPreferFloor;
  std::unique_ptr<OpKernel> ref_;
};

}  // namespace

void Register_resize(KernelRegistry& r) { r.Add("", "Resize", Create<ResizeKernel>, 11); }

}  // namespace tern::cpu
