// GlobalAveragePool, GlobalMaxPool, and 1-D/2-D MaxPool and AveragePool on float32.
//  - global: one sum or max microkernel call per channel plane;
//  - windowed: per output row, every kernel tap updates the output columns where it lies inside
//    the input (the valid column range is computed once per tap, as in the depthwise conv), so
//    the inner loop has no bounds checks; the average divides by the per-position tap count
//    (taps inside the input, or inside input + pads with count_include_pad).
// MaxPool's Indices output and 3-D windows stay on ref. Planes are split over the pool.
#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include "ep/cpu/cpu_common.h"
#include "ep/cpu/ukernels/dwconv/f32_dwconv.h"
#include "ep/ref/nn_util.h"

namespace tern::cpu {
namespace {

constexpr int64_t kParallelGrain = 1 << 14;

enum class PoolKind { kMax, kAvg };

// Taps of output index o along one dim inside [lo, hi) (the input, or input + pads).
int64_t TapsInside(int64_t o, int64_t stride, int64_t pad, int64_t dil, int64_t k, int64_t lo,
                   int64_t hi) {
  int64_t count = 0;
  for (int64_t t = 0; t < k; ++t) {
    const int64_t p = o * stride - pad + t * dil;
    count += p >= lo && p < hi;
  }
  return count;
}

class PoolKernel : public OpKernel {
 public:
  PoolKernel(PoolKind kind, bool global) : kind_(kind), global_(global) {}

  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "X"));
    if (global_) return Status::Ok();
    if (info.has_output(1)) return NotImplemented("MaxPool's Indices output");
    TERN_RETURN_IF_ERROR(ref::nn::ParseWindowAttrs(info, true, &attrs_));
    if (attrs_.kernel_shape.size() != 1 && attrs_.kernel_shape.size() != 2)
      return NotImplemented("only 1-D and 2-D pooling windows run on cpu");
    count_include_pad_ = info.GetInt("count_include_pad", 0) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DataType::kFloat32 || x.rank() < 3)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must be float32 of rank >= 3, got " + x.shape().ToString());
    const int64_t planes = x.dim(0) * x.dim(1);
    if (global_) {
      Shape out_shape{x.dim(0), x.dim(1)};
      for (size_t d = 2; d < x.rank(); ++d) out_shape.push_back(1);
      TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, out_shape));
      const int64_t plane = x.shape().Product(2, x.rank());
      const float* px = x.data<float>();
      float* py = y->data<float>();
      const F32ElementwiseUkernels& uk = ElementwiseUkernels();
      auto body = [&](int64_t p0, int64_t p1) {
        for (int64_t p = p0; p < p1; ++p) {
          const float* xp = px + p * plane;
          py[p] = kind_ == PoolKind::kMax
                      ? uk.max(static_cast<size_t>(plane), xp)
                      : uk.sum(static_cast<size_t>(plane), xp) / static_cast<float>(plane);
        }
      };
      ParallelRange(ctx.thread_pool(), planes,
                    std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(plane, 1)),
                    std::cref(body));
      return Status::Ok();
    }
    const size_t nd = x.rank() - 2;
    if (nd != attrs_.kernel_shape.size())
      return ctx.Error(StatusCode::kInvalidArgument,
                       "kernel_shape has " + std::to_string(attrs_.kernel_shape.size()) +
                           " dims but X is " + x.shape().ToString());
    std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    ref::nn::Window w;
    Status st = ref::nn::ResolveWindow(attrs_, in, attrs_.kernel_shape, true, &w);
    if (!st.ok()) return ctx.Error(st.code(), st.message());
    // The 2-D form; a 1-D pool has a single row.
    const size_t off = 2 - nd;
    auto dim = [&](const std::vector<int64_t>& v, size_t d, int64_t fill) {
      return d < off ? fill : v[d - off];
    };
    DwConvShape s;
    s.ih = static_cast<size_t>(dim(w.in, 0, 1));
    s.iw = static_cast<size_t>(dim(w.in, 1, 1));
    s.oh = static_cast<size_t>(dim(w.out, 0, 1));
    s.ow = static_cast<size_t>(dim(w.out, 1, 1));
    s.kh = static_cast<size_t>(dim(w.kernel, 0, 1));
    s.kw = static_cast<size_t>(dim(w.kernel, 1, 1));
    s.sh = static_cast<size_t>(dim(w.strides, 0, 1));
    s.sw = static_cast<size_t>(dim(w.strides, 1, 1));
    s.dh = static_cast<size_t>(dim(w.dilations, 0, 1));
    s.dw = static_cast<size_t>(dim(w.dilations, 1, 1));
    s.pt = static_cast<size_t>(dim(w.pad_begin, 0, 0));
    s.pl = static_cast<size_t>(dim(w.pad_begin, 1, 0));
    const int64_t pad_bottom = dim(w.pad_end, 0, 0), pad_right = dim(w.pad_end, 1, 0);
    Shape out_shape{x.dim(0), x.dim(1)};
    for (int64_t o : w.out) out_shape.push_back(o);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, out_shape));
    if (y->numel() == 0) return Status::Ok();
    // Per-row and per-column tap counts for the average (the window is separable).
    std::vector<float> row_count(s.oh), col_count(s.ow);
    const int64_t ih = static_cast<int64_t>(s.ih), iw = static_cast<int64_t>(s.iw);
    for (size_t o = 0; o < s.oh; ++o)
      row_count[o] = static_cast<float>(TapsInside(static_cast<int64_t>(o), s.sh, s.pt, s.dh, s.kh,
                                                   count_include_pad_ ? -int64_t(s.pt) : 0,
                                                   count_include_pad_ ? ih + pad_bottom : ih));
    for (size_t o = 0; o < s.ow; ++o)
      col_count[o] = static_cast<float>(TapsInside(static_cast<int64_t>(o), s.sw, s.pl, s.dw, s.kw,
                                                   count_include_pad_ ? -int64_t(s.pl) : 0,
                                                   count_include_pad_ ? iw + pad_right : iw));
    const int64_t in_plane = ih * iw, out_plane = static_cast<int64_t>(s.oh * s.ow);
    const float* px = x.data<float>();
    float* py = y->data<float>();
    auto body = [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        PoolPlane(px + p * in_plane, py + p * out_plane, s, row_count.data(), col_count.data());
    };
    ParallelRange(ctx.thread_pool(), planes,
                  std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(out_plane, 1)),
                  std::cref(body));
    return Status::Ok();
  }

 private:
  void PoolPlane(const float* x, float* y, const DwConvShape& s, const float* row_count,
                 const float* col_count) const {
    const bool is_max = kind_ == PoolKind::kMax;
    const float init = is_max ? -std::numeric_limits<float>::infinity() : 0.0f;
    size_t lo[16], hi[16];
    const size_t taps_cached = std::min<size_t>(s.kw, 16);
    for (size_t kx = 0; kx < taps_cached; ++kx) DwConvValidColumns(s, kx, &lo[kx], &hi[kx]);
    for (size_t oy = 0; oy < s.oh; ++oy) {
      float* yr = y + oy * s.ow;
      std::fill(yr, yr + s.ow, init);
      for (size_t ky = 0; ky < s.kh; ++ky) {
        const long iy = static_cast<long>(oy * s.sh + ky * s.dh) - static_cast<long>(s.pt);
        if (iy < 0 || iy >= static_cast<long>(s.ih)) continue;
        const float* xr = x + static_cast<size_t>(iy) * s.iw;
        for (size_t kx = 0; kx < s.kw; ++kx) {
          size_t l, h;
          if (kx < taps_cached) {
            l = lo[kx];
            h = hi[kx];
          } else {
            DwConvValidColumns(s, kx, &l, &h);
          }
          const float* xp = xr + l * s.sw + kx * s.dw - s.pl;
          if (is_max) {
            for (size_t ox = l; ox < h; ++ox, xp += s.sw) yr[ox] = *xp > yr[ox] ? *xp : yr[ox];
          } else {
            for (size_t ox = l; ox < h; ++ox, xp += s.sw) yr[ox] += *xp;
          }
        }
      }
      if (!is_max)
        for (size_t ox = 0; ox < s.ow; ++ox) {
          const float count = row_count[oy] * col_count[ox];
          yr[ox] = count > 0 ? yr[ox] / count : 0.0f;
        }
    }
  }

  PoolKind kind_;
  bool global_;
  ref::nn::WindowAttrs attrs_;
  bool count_include_pad_ = false;
};

}  // namespace

void Register_pool(KernelRegistry& r) {
  r.Add("", "GlobalAveragePool", Create<PoolKernel, PoolKind::kAvg, true>);
  r.Add("", "GlobalMaxPool", Create<PoolKernel, PoolKind::kMax, true>);
  r.Add("", "AveragePool", Create<PoolKernel, PoolKind::kAvg, false>);
  r.Add("", "MaxPool", Create<PoolKernel, PoolKind::kMax, false>);
}

}  // namespace tern::cpu
