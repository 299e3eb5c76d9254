// ConvTranspose, float32, 2-D (1-D runs as 2-D with H = 1), constant weights. Per image and
// group a GEMM makes the column matrix cols[(m, ky, kx) x (iy, ix)] = W_g^T * X_g (W_g^T packed
// once at load), then col2im adds every column into the output at oy = iy*sh - pt + ky*dh
// (ox likewise), over rows that start from the bias. Output channels are split over the pool.
// output_shape and SAME auto_pad (whose pads depend on the run) stay on ref.
#include <algorithm>
#include <string>
#include <vector>

#include "ep/cpu/cpu_common.h"
#include "ep/cpu/ukernels/dwconv/f32_dwconv.h"

namespace tern::cpu {
namespace {

class ConvTransposeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "X"));
    const Tensor* w = info.constant_input(1);
    if (!w || w->dtype() != DataType::kFloat32)
      return NotImplemented("W must be a float32 initializer");
    if (w->rank() != 3 && w->rank() != 4)
      return NotImplemented("only 1-D and 2-D transposed convolutions run on cpu");
    nd_ = w->rank() - 2;
    group_ = info.GetInt("group", 1);
    if (group_ <= 0 || w->dim(0) % group_ != 0) return NotImplemented("bad group");
    const std::string ap = info.GetString("auto_pad", "NOTSET");
    if ((ap != "NOTSET" && ap != "VALID" && !ap.empty()) || info.has_attr("output_shape"))
      return NotImplemented("output_shape and SAME auto_pad run on ref");
    const bool valid = ap == "VALID";
    TERN_RETURN_IF_ERROR(ReadWindowAttr(info, "strides", nd_, 1, 1, strides_));
    TERN_RETURN_IF_ERROR(ReadWindowAttr(info, "dilations", nd_, 1, 1, dilations_));
    TERN_RETURN_IF_ERROR(ReadWindowAttr(info, "output_padding", nd_, 1, 0, output_padding_));
    if (!valid) TERN_RETURN_IF_ERROR(ReadWindowAttr(info, "pads", nd_, 2, 0, pads_));
    const std::vector<int64_t> ks = info.GetInts("kernel_shape");
    for (size_t d = 0; d < ks.size(); ++d)
      if (ks.size() != nd_ || ks[d] != w->dim(2 + d))
        return NotImplemented("kernel_shape does not match W");
    c_ = w->dim(0);
    mg_ = w->dim(1);
    kh_ = nd_ == 2 ? w->dim(2) : 1;
    kw_ = w->dim(w->rank() - 1);
    const int64_t cg = c_ / group_, rows = mg_ * kh_ * kw_;
    // W_g is [cg x rows] row-major: its transpose is the GEMM's A.
    for (int64_t g = 0; g < group_; ++g)
      packed_.push_back(PackA(w->data<float>() + g * cg * rows, static_cast<size_t>(rows),
                              static_cast<size_t>(cg), static_cast<size_t>(rows), true,
                              GemmUkernel()));
    if (info.has_input(2)) {
      const Tensor* b = info.constant_input(2);
      if (!b || b->dtype() != DataType::kFloat32 || b->numel() != mg_ * group_)
        return NotImplemented("B must be a float32 initializer with one value per channel");
      bias_.assign(b->data<float>(), b->data<float>() + b->numel());
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DataType::kFloat32 || x.rank() != nd_ + 2 || x.dim(1) != c_)
      return ctx.Error(StatusCode::kInvalidArgument, "X " + x.shape().ToString() +
                                                         " does not match W's " +
                                                         std::to_string(c_) + " input channels");
    const int64_t n = x.dim(0), h = nd_ == 2 ? x.dim(2) : 1, w = x.dim(nd_ + 1);
    int64_t out[2];
    const int64_t in[2] = {h, w}, k[2] = {kh_, kw_};
    for (int d = 0; d < 2; ++d) {
      out[d] = strides_[d] * (in[d] - 1) + output_padding_[d] + (k[d] - 1) * dilations_[d] + 1 -
               pads_[d] - pads_[2 + d];
      if (out[d] < 0 || in[d] == 0)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "X " + x.shape().ToString() + " gives an empty output");
    }
    const int64_t m = mg_ * group_;
    const Shape out_shape = nd_ == 2 ? Shape{n, m, out[0], out[1]} : Shape{n, m, out[1]};
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, out_shape));
    if (y->numel() == 0) return Status::Ok();
    const int64_t cg = c_ / group_, in_plane = h * w, out_plane = out[0] * out[1];
    const int64_t rows = mg_ * kh_ * kw_;
    thread_local std::vector<float> cols;
    cols.resize(static_cast<size_t>(rows * in_plane));
    std::vector<float>& colbuf = cols;
    const DwConvShape s{static_cast<size_t>(h),
                        static_cast<size_t>(w),
                        static_cast<size_t>(out[0]),
                        static_cast<size_t>(out[1]),
                        static_cast<size_t>(kh_),
                        static_cast<size_t>(kw_),
                        static_cast<size_t>(strides_[0]),
                        static_cast<size_t>(strides_[1]),
                        static_cast<size_t>(dilations_[0]),
                        static_cast<size_t>(dilations_[1]),
                        static_cast<size_t>(pads_[0]),
                        static_cast<size_t>(pads_[1])};
    for (int64_t img = 0; img < n; ++img) {
      for (int64_t g = 0; g < group_; ++g) {
        GemmProblem p;
        p.m = static_cast<size_t>(rows);
        p.n = static_cast<size_t>(in_plane);
        p.k = static_cast<size_t>(cg);
        p.a_packed = &packed_[static_cast<size_t>(g)];
        p.b = x.data<float>() + (img * c_ + g * cg) * in_plane;
        p.ldb = static_cast<size_t>(in_plane);
        p.c = colbuf.data();
        p.ldc = static_cast<size_t>(in_plane);
        RunGemm(p, GemmUkernel(), ctx.thread_pool());
        float* yg = y->data<float>() + (img * m + g * mg_) * out_plane;
        auto body = [&](int64_t m0, int64_t m1) {
          for (int64_t mi = m0; mi < m1; ++mi)
            Col2Im(colbuf.data() + mi * kh_ * kw_ * in_plane, s,
                   bias_.empty() ? 0.0f : bias_[static_cast<size_t>(g * mg_ + mi)],
                   yg + mi * out_plane);
        };
        ParallelRange(ctx.thread_pool(), mg_,
                      std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(out_plane, 1)),
                      std::cref(body));
      }
    }
    return Status::Ok();
  }

 private:
  // Adds the kh*kw column planes of one output channel into its output plane. The roles of the
  // forward conv swap: output column ox = ix*sw - pl + kx*dw, so for each tap the input columns
  // that land inside the output form one contiguous range.
  static void Col2Im(const float* col, const DwConvShape& s, float bias, float* y) {
    std::fill(y, y + s.oh * s.ow, bias);
    const long oh = static_cast<long>(s.oh), ow = static_cast<long>(s.ow);
    for (size_t ky = 0; ky < s.kh; ++ky)
      for (size_t kx = 0; kx < s.kw; ++kx, col += s.ih * s.iw) {
        const long dx = static_cast<long>(kx * s.dw) - static_cast<long>(s.pl);
        const long sw = static_cast<long>(s.sw);
        // ix with 0 <= ix*sw + dx < ow.
        const long lo = dx >= 0 ? 0 : (-dx + sw - 1) / sw;
        long hi = ow - 1 - dx < 0 ? 0 : (ow - 1 - dx) / sw + 1;
        hi = std::min(hi, static_cast<long>(s.iw));
        for (size_t iy = 0; iy < s.ih; ++iy) {
          const long oy = static_cast<long>(iy * s.sh + ky * s.dh) - static_cast<long>(s.pt);
          if (oy < 0 || oy >= oh) continue;
          const float* cr = col + iy * s.iw;
          float* yr = y + oy * ow;
          for (long ix = lo; ix < hi; ++ix) yr[ix * sw + dx] += cr[ix];
        }
      }
  }

  size_t nd_ = 2;
  int64_t group_ = 1, c_ = 0, mg_ = 0, kh_ = 1, kw_ = 1;
  int64_t strides_[2] = {1, 1}, dilations_[2] = {1, 1}, output_padding_[2] = {0, 0};
  int64_t pads_[4] = {0, 0, 0, 0};
  std::vector<PackedMatrix> packed_;
  std::vector<float> bias_;
};

}  // namespace

void Register_conv_transpose(KernelRegistry& r) {
  r.Add("", "ConvTranspose", Create<ConvTransposeKernel>);
}

}  // namespace tern::cpu
