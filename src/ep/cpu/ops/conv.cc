// Conv and ai.tern FusedConv, float32, 1-D and 2-D (1-D runs as 2-D with H = 1).
//  - groups == 1 and grouped: one GEMM per group, Y_g[M_g x OH*OW] = W_g[M_g x C_g*KH*KW] *
//    patches, with W_g packed once at load and the patches packed straight into the GEMM's B
//    panels block by block (no full im2col buffer). With stride 1 along x, a panel of NR output
//    positions on one row whose window lies inside the image is not packed at all: the indirect
//    microkernel reads K row (ci, ky, kx) as NR consecutive input floats in place. A 1x1
//    stride-1 unpadded conv multiplies the NCHW activations directly.
//  - depthwise (groups == C == M): a direct kernel per channel plane (ukernels/dwconv).
//  - 1-D with at most kGemvMaxPositions output positions (streaming audio models run one short
//    frame at a time): the GEMM's column tile would be mostly padding, so the output positions
//    are the rows of a small product with the weights transposed once at load (ukernels/rnn
//    gemv, which reads the weights once per 4 positions).
// Bias and the fused activation are applied by the GEMM epilogue (or right after each plane).
#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "ep/cpu/cpu_common.h"
#include "ep/cpu/ukernels/dwconv/f32_dwconv.h"
#include "ep/cpu/ukernels/rnn/f32_rnn.h"

namespace tern::cpu {
namespace {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

constexpr int64_t kGemvMaxPositions = 8;  ///< 1-D output lengths that take the gemv path

/// Patch and output vectors of the gemv path; they only grow, so steady state does not allocate.
struct GemvScratch {
  std::vector<float> patch, out;
};
thread_local GemvScratch t_gemv;
/// K row offsets of the in-place (stride-1) GEMM path; only grows.
thread_local std::vector<ptrdiff_t> t_koff;
/// Zero-padded copy of X for the in-place GEMM path; only grows.
thread_local std::vector<float> t_padded_x;
/// Output over the padded width for the "wide" in-place path; only grows.
thread_local std::vector<float> t_wide_y;

// Concrete geometry of one run (2-D; 1-D has h = oh = kh = 1).
struct ConvShape {
  int64_t n, c, h, w, m, oh, ow, kh, kw;
  int64_t sh, sw, dh, dw, pt, pl;
};

// Packs image patches of one image and group into B panels for rows k (= (ci*KH + ky)*KW + kx)
// and output positions j (= oy*OW + ox).
struct PatchPacker {
  const float* x;  // first channel of the group
  ConvShape s;
  size_t nr;

  void operator()(float* dst, size_t k0, size_t kc, size_t j0, size_t nc) const {
    const int64_t total = s.oh * s.ow, ksz = s.kh * s.kw, plane = s.h * s.w;
    int64_t iy0[64], ix0[64];
    for (size_t jp = 0; jp < nc; jp += nr) {
      float* panel = dst + (jp / nr) * kc * nr;
      const int64_t jstart = static_cast<int64_t>(j0 + jp);
      const int64_t cols = std::min<int64_t>(static_cast<int64_t>(nr), total - jstart);
      int64_t oy = jstart / s.ow, ox = jstart % s.ow;
      const bool one_row = cols == static_cast<int64_t>(nr) && ox + cols <= s.ow;
      for (int64_t c = 0; c < cols; ++c) {
        iy0[c] = oy * s.sh - s.pt;
        ix0[c] = ox * s.sw - s.pl;
        if (++ox == s.ow) {
          ox = 0;
          ++oy;
        }
      }
      int64_t ci = static_cast<int64_t>(k0) / ksz, rem = static_cast<int64_t>(k0) % ksz;
      int64_t ky = rem / s.kw, kx = rem % s.kw;
      for (size_t k = 0; k < kc; ++k) {
        float* d = panel + k * nr;
        const float* xc = x + ci * plane;
        const int64_t dy = ky * s.dh, dx = kx * s.dw;
        if (one_row) {
          const int64_t iy = iy0[0] + dy;
          const int64_t ixs = ix0[0] + dx, ixe = ix0[cols - 1] + dx;
          if (iy < 0 || iy >= s.h) {
            std::memset(d, 0, nr * sizeof(float));
          } else if (ixs >= 0 && ixe < s.w) {
            const float* row = xc + iy * s.w + ixs;
            if (s.sw == 1) {
              CopyPanelRow(d, row, nr);
            } else {
              for (size_t c = 0; c < nr; ++c) d[c] = row[static_cast<int64_t>(c) * s.sw];
            }
          } else {
            const float* row = xc + iy * s.w;
            for (size_t c = 0; c < nr; ++c) {
              const int64_t ix = ixs + static_cast<int64_t>(c) * s.sw;
              d[c] = ix >= 0 && ix < s.w ? row[ix] : 0.0f;
            }
          }
        } else {
          for (int64_t c = 0; c < static_cast<int64_t>(nr); ++c) {
            float v = 0;
            if (c < cols) {
              const int64_t iy = iy0[c] + dy, ix = ix0[c] + dx;
              if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) v = xc[iy * s.w + ix];
            }
            d[c] = v;
          }
        }
        if (++kx == s.kw) {
          kx = 0;
          if (++ky == s.kh) {
            ky = 0;
            ++ci;
          }
        }
      }
    }
  }
};

class ConvKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "X"));
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 1, "W"));
    if (info.has_input(2)) TERN_RETURN_IF_ERROR(RequireFloat32(info, 2, "B"));
    if (info.node().domain == kTernDomain)
      TERN_RETURN_IF_ERROR(ParseFusedActivation(info, &epilogue_));
    // The rank decides 1-D vs 2-D; it must be known now.
    const Tensor* wc = info.constant_input(1);
    size_t rank = 0;
    if (wc)
      rank = wc->rank();
    else if (info.input_type(1).has_shape)
      rank = info.input_type(1).dims.size();
    else if (info.input_type(0).has_shape)
      rank = info.input_type(0).dims.size();
    if (rank != 3 && rank != 4)
      return NotImplemented(rank == 0 ? "W's rank is not known at load"
                                      : "only 1-D and 2-D convolutions run on cpu");
    nd_ = rank - 2;
    group_ = info.GetInt("group", 1);
    if (group_ <= 0) return NotImplemented("group must be positive");
    TERN_RETURN_IF_ERROR(ParseWindow(info));
    if (wc) {
      if (wc->dim(0) % group_ != 0) return NotImplemented("W's channels do not split into groups");
      const float* weights = wc->data<float>();
      w_shape_ = wc->shape();
      const_w_ = true;
      const int64_t mg = wc->dim(0) / group_;
      const int64_t kdim = wc->numel() / std::max<int64_t>(wc->dim(0), 1);
      depthwise_ = wc->dim(1) == 1 && group_ == wc->dim(0);
      if (!depthwise_) {
        for (int64_t g = 0; g < group_; ++g)
          packed_.push_back(PackA(weights + g * mg * kdim, static_cast<size_t>(mg),
                                  static_cast<size_t>(kdim), static_cast<size_t>(kdim), false,
                                  GemmUkernel()));
      } else {
        dw_weights_.assign(weights, weights + wc->numel());
      }
      if (!depthwise_ && nd_ == 1) {
        // Per group, W_g [mg][kdim] transposed to [kdim][mg] for the gemv path.
        wt_.resize(static_cast<size_t>(wc->numel()));
        for (int64_t g = 0; g < group_; ++g) {
          const float* wg = weights + g * mg * kdim;
          float* dst = wt_.data() + g * mg * kdim;
          for (int64_t i = 0; i < mg; ++i)
            for (int64_t k = 0; k < kdim; ++k) dst[k * mg + i] = wg[i * kdim + k];
        }
      }
    }
    if (const Tensor* bc = info.has_input(2) ? info.constant_input(2) : nullptr) {
      bias_.assign(bc->data<float>(), bc->data<float>() + bc->numel());
      has_const_bias_ = true;
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override;

 private:
  Status ParseWindow(const KernelInfo& info);
  Status Resolve(KernelContext& ctx, const Tensor& x, const Shape& w_shape, ConvShape* s) const;
  void RunGemmConv(KernelContext& ctx, const float* x, const float* w, const float* bias,
                   const ConvShape& s, float* y) const;
  void RunDepthwise(KernelContext& ctx, const float* x, const float* w, const float* bias,
                    const ConvShape& s, float* y) const;
  void RunGemvConv(const float* x, const float* bias, const ConvShape& s, float* y) const;

  size_t nd_ = 2;
  int64_t group_ = 1;
  AutoPad auto_pad_ = AutoPad::kNotSet;
  int64_t strides_[2] = {1, 1}, dilations_[2] = {1, 1}, pads_[4] = {0, 0, 0, 0};
  std::vector<int64_t> kernel_shape_;
  Epilogue epilogue_;
  // Constant weights: packed per group for the GEMM, or kept as is for the depthwise kernel.
  std::vector<PackedMatrix> packed_;
  std::vector<float> dw_weights_;
  std::vector<float> wt_;  ///< 1-D, constant W: per group [kdim][mg], for the gemv path
  Shape w_shape_;
  bool const_w_ = false;
  bool depthwise_ = false;
  std::vector<float> bias_;
  bool has_const_bias_ = false;
};

Status ConvKernel::ParseWindow(const KernelInfo& info) {
  const std::string ap = info.GetString("auto_pad", "NOTSET");
  if (ap == "SAME_UPPER")
    auto_pad_ = AutoPad::kSameUpper;
  else if (ap == "SAME_LOWER")
    auto_pad_ = AutoPad::kSameLower;
  else if (ap == "VALID")
    auto_pad_ = AutoPad::kValid;
  else if (ap != "NOTSET" && !ap.empty())
    return NotImplemented("auto_pad '" + ap + "'");
  TERN_RETURN_IF_ERROR(ReadWindowAttr(info, "strides", nd_, 1, 1, strides_));
  TERN_RETURN_IF_ERROR(ReadWindowAttr(info, "dilations", nd_, 1, 1, dilations_));
  TERN_RETURN_IF_ERROR(ReadWindowAttr(info, "pads", nd_, 2, 0, pads_));
  kernel_shape_ = info.GetInts("kernel_shape");
  if (!kernel_shape_.empty() && kernel_shape_.size() != nd_)
    return NotImplemented("kernel_shape has " + std::to_string(kernel_shape_.size()) + " values");
  return Status::Ok();
}

Status ConvKernel::Resolve(KernelContext& ctx, const Tensor& x, const Shape& ws,
                           ConvShape* s) const {
  if (x.dtype() != DataType::kFloat32 || x.rank() != nd_ + 2 || ws.rank() != nd_ + 2)
    return ctx.Error(StatusCode::kInvalidArgument, "X " + x.shape().ToString() + " and W " +
                                                       ws.ToString() + " must be float32 of rank " +
                                                       std::to_string(nd_ + 2));
  s->n = x.dim(0);
  s->c = x.dim(1);
  s->h = nd_ == 2 ? x.dim(2) : 1;
  s->w = x.dim(nd_ + 1);
  s->m = ws[0];
  s->kh = nd_ == 2 ? ws[2] : 1;
  s->kw = ws[nd_ + 1];
  if (ws[1] * group_ != s->c || s->m % group_ != 0)
    return ctx.Error(StatusCode::kInvalidArgument, "X " + x.shape().ToString() +
                                                       " does not match W " + ws.ToString() +
                                                       " with group " + std::to_string(group_));
  for (size_t d = 0; d < kernel_shape_.size(); ++d)
    if (kernel_shape_[d] != ws[2 + d])
      return ctx.Error(StatusCode::kInvalidArgument, "kernel_shape does not match W");
  if (s->kh <= 0 || s->kw <= 0)
    return ctx.Error(StatusCode::kInvalidArgument, "empty kernel " + ws.ToString());
  s->sh = strides_[0];
  s->sw = strides_[1];
  s->dh = dilations_[0];
  s->dw = dilations_[1];
  const int64_t in[2] = {s->h, s->w}, k[2] = {s->kh, s->kw};
  int64_t out[2], pb[2];
  for (int d = 0; d < 2; ++d) {
    const int64_t span = (k[d] - 1) * dilations_[d] + 1;
    if (auto_pad_ == AutoPad::kSameUpper || auto_pad_ == AutoPad::kSameLower) {
      out[d] = (in[d] + strides_[d] - 1) / strides_[d];
      const int64_t total = std::max<int64_t>(0, (out[d] - 1) * strides_[d] + span - in[d]);
      pb[d] = auto_pad_ == AutoPad::kSameUpper ? total / 2 : total - total / 2;
    } else {
      const int64_t before = auto_pad_ == AutoPad::kValid ? 0 : pads_[d];
      const int64_t after = auto_pad_ == AutoPad::kValid ? 0 : pads_[2 + d];
      const int64_t padded = in[d] + before + after - span;
      out[d] = padded < 0 ? 0 : padded / strides_[d] + 1;
      pb[d] = before;
    }
    if (out[d] <= 0)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "the kernel " + ws.ToString() + " does not fit X " + x.shape().ToString());
  }
  s->oh = out[0];
  s->ow = out[1];
  s->pt = pb[0];
  s->pl = pb[1];
  return Status::Ok();
}

Status ConvKernel::Compute(KernelContext& ctx) const {
  const Tensor& x = ctx.input(0);
  const bool have_w = const_w_;
  const Tensor& wt = ctx.input(1);
  if (!have_w && (!ctx.has_input(1) || wt.dtype() != DataType::kFloat32))
    return ctx.Error(StatusCode::kInvalidArgument, "W must be a float32 tensor");
  const Shape& ws = have_w ? w_shape_ : wt.shape();
  ConvShape s;
  TERN_RETURN_IF_ERROR(Resolve(ctx, x, ws, &s));
  const float* bias = nullptr;
  if (has_const_bias_) {
    bias = bias_.data();
  } else if (ctx.has_input(2)) {
    const Tensor& b = ctx.input(2);
    if (b.dtype() != DataType::kFloat32 || b.numel() != s.m)
      return ctx.Error(StatusCode::kInvalidArgument, "B must be float32 [" + std::to_string(s.m) +
                                                         "], got " + b.shape().ToString());
    bias = b.data<float>();
  }
  if (has_const_bias_ && static_cast<int64_t>(bias_.size()) != s.m)
    return ctx.Error(StatusCode::kInvalidArgument,
                     "B does not have " + std::to_string(s.m) + " values");
  Shape out_shape = nd_ == 2 ? Shape{s.n, s.m, s.oh, s.ow} : Shape{s.n, s.m, s.ow};
  TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, out_shape));
  if (y->numel() == 0) return Status::Ok();
  const float* w = have_w ? nullptr : wt.data<float>();
  const bool depthwise = have_w ? depthwise_ : (ws[1] == 1 && group_ == s.m);
  if (depthwise)
    RunDepthwise(ctx, x.data<float>(), w ? w : dw_weights_.data(), bias, s, y->data<float>());
  else if (!w && !wt_.empty() && s.oh * s.ow <= kGemvMaxPositions)
    RunGemvConv(x.data<float>(), bias, s, y->data<float>());
  else
    RunGemmConv(ctx, x.data<float>(), w, bias, s, y->data<float>());
  return Status::Ok();
}

void ConvKernel::RunGemmConv(KernelContext& ctx, const float* x, const float* w, const float* bias,
                             const ConvShape& shape, float* y) const {
  const F32GemmUkernelInfo& uk = GemmUkernel();
  // Stride-1 (along x) convs read their panels in place from X, through a zero-padded copy of
  // X when the conv is padded (copying the input once costs less than packing its KH*KW-fold
  // patches at the borders):
  //  - rows of at least one panel: every panel within one output row is read in place;
  //  - stride 1 both ways with rows that do not split into panels ("wide"): the output is
  //    computed over the full padded width, so output position (oy, ox) is flat index
  //    oy*W' + ox and any NR consecutive positions read NR consecutive floats; the KW-1 extra
  //    columns per row are computed into a scratch and dropped.
  const int64_t nr = static_cast<int64_t>(uk.nr);
  const int64_t hp = (shape.oh - 1) * shape.sh + (shape.kh - 1) * shape.dh + 1;
  const int64_t wp = shape.ow + (shape.kw - 1) * shape.dw;
  const bool stride1 = shape.sw == 1 && (shape.kh > 1 || shape.kw > 1);
  const bool needs_pad = shape.pt > 0 || shape.pl > 0 || hp > shape.h || wp > shape.w;
  const bool wide = stride1 && shape.sh == 1 && shape.ow % nr != 0 && shape.oh * wp >= nr;
  const bool padded = stride1 && needs_pad && (wide || shape.ow >= nr);
  ConvShape s = shape;
  if (padded) {
    s.h = hp;
    s.w = wp;
    s.pt = s.pl = 0;
    std::vector<float>& buf = t_padded_x;
    buf.assign(static_cast<size_t>(s.n * s.c * s.h * s.w), 0.0f);
    for (int64_t plane = 0; plane < s.n * s.c; ++plane)
      for (int64_t r = 0; r < s.h; ++r) {
        const int64_t iy = r - shape.pt;
        if (iy < 0 || iy >= shape.h) continue;
        const int64_t c0 = std::max<int64_t>(0, shape.pl);
        const int64_t cols = std::min(shape.w, s.w - c0);
        if (cols > 0)
          std::memcpy(buf.data() + (plane * s.h + r) * s.w + c0,
                      x + (plane * shape.h + iy) * shape.w,
                      static_cast<size_t>(cols) * sizeof(float));
      }
    x = buf.data();
  }
  float* const y_out = y;
  if (wide) {
    s.ow = s.w;  // == wp: unpadded stride-1 convs have W == OW + (KW-1)*DW
    std::vector<float>& buf = t_wide_y;
    buf.resize(static_cast<size_t>(s.n * s.m * s.oh * s.ow));
    y = buf.data();
  }
  const int64_t cg = s.c / group_, mg = s.m / group_;
  const int64_t kdim = cg * s.kh * s.kw, out_plane = s.oh * s.ow, in_plane = s.h * s.w;
  const bool pointwise = s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 &&
                         s.pl == 0 && s.oh == s.h && s.ow == s.w;
  // Offsets of the K rows (ci, ky, kx) from a window's top-left input element.
  std::vector<ptrdiff_t>& koff = t_koff;
  koff.clear();
  if (!pointwise && s.sw == 1) {
    for (int64_t ci = 0; ci < cg; ++ci)
      for (int64_t ky = 0; ky < s.kh; ++ky)
        for (int64_t kx = 0; kx < s.kw; ++kx)
          koff.push_back(static_cast<ptrdiff_t>(ci * in_plane + ky * s.dh * s.w + kx * s.dw));
  }
  for (int64_t img = 0; img < s.n; ++img) {
    for (int64_t g = 0; g < group_; ++g) {
      const float* xg = x + (img * s.c + g * cg) * in_plane;
      // Floats readable from xg to the end of the input.
      const size_t avail = static_cast<size_t>((s.n * s.c - img * s.c - g * cg) * in_plane);
      GemmProblem p;
      p.m = static_cast<size_t>(mg);
      p.n = static_cast<size_t>(out_plane);
      p.k = static_cast<size_t>(kdim);
      if (w) {
        p.a = w + g * mg * kdim;
        p.lda = static_cast<size_t>(kdim);
      } else {
        p.a_packed = &packed_[static_cast<size_t>(g)];
      }
      PatchPacker packer{xg, s, uk.nr};
      const PackBFn pack_fn = std::cref(packer);  // a reference: no allocation
      // Stride 1 along x: a panel of NR outputs on one output row whose window is inside the
      // image reads each K row (ci, ky, kx) as NR consecutive input floats, in place.
      auto direct = [&](size_t j0) -> const float* {
        if (wide) {
          // The last rows of a panel read up to (KW-1)*DW floats past the output width; near
          // the end of the input those reads would leave the buffer, so such panels are packed.
          const size_t last = j0 + static_cast<size_t>(nr) + static_cast<size_t>(koff.back());
          return last <= avail ? xg + j0 : nullptr;
        }
        const int64_t oy = static_cast<int64_t>(j0) / s.ow, ox = static_cast<int64_t>(j0) % s.ow;
        const int64_t iy = oy * s.sh - s.pt, ix = ox - s.pl, n = static_cast<int64_t>(nr);
        if (ox + n > s.ow || iy < 0 || iy + (s.kh - 1) * s.dh >= s.h || ix < 0 ||
            ix + n - 1 + (s.kw - 1) * s.dw >= s.w)
          return nullptr;
        return xg + iy * s.w + ix;
      };
      const BDirectFn direct_fn = std::cref(direct);
      if (pointwise) {
        p.b = xg;
        p.ldb = static_cast<size_t>(in_plane);
      } else {
        p.b_pack = &pack_fn;
        if (s.sw == 1 && !koff.empty()) {
          p.b_direct = &direct_fn;
          p.b_koff = koff.data();
        }
      }
      p.c = y + (img * s.m + g * mg) * out_plane;
      p.ldc = static_cast<size_t>(out_plane);
      p.epilogue = epilogue_;
      p.epilogue.bias = bias ? bias + g * mg : nullptr;
      p.epilogue.bias_per_row = true;
      RunGemm(p, uk, ctx.thread_pool());
    }
  }
  if (wide) {
    for (int64_t row = 0; row < s.n * s.m * s.oh; ++row)
      std::memcpy(y_out + row * shape.ow, y + row * s.ow,
                  static_cast<size_t>(shape.ow) * sizeof(float));
  }
}

void ConvKernel::RunGemvConv(const float* x, const float* bias, const ConvShape& s,
                             float* y) const {
  const F32GemvUkernel gemv = BestF32RnnUkernels().gemv;
  const int64_t cg = s.c / group_, mg = s.m / group_;
  const int64_t kdim = cg * s.kw;
  GemvScratch& t = t_gemv;
  const size_t patch_size = static_cast<size_t>(s.ow * kdim),
               out_size = static_cast<size_t>(s.ow * mg);
  if (t.patch.size() < patch_size) t.patch.resize(patch_size);
  if (t.out.size() < out_size) t.out.resize(out_size);
  for (int64_t img = 0; img < s.n; ++img) {
    for (int64_t g = 0; g < group_; ++g) {
      const float* xg = x + (img * s.c + g * cg) * s.w;
      const float* wg = wt_.data() + g * mg * kdim;
      // Row ox holds the patch of output position ox: k = ci*KW + kx, zero outside the input.
      float* patch = t.patch.data();
      for (int64_t ox = 0; ox < s.ow; ++ox) {
        const int64_t ix0 = ox * s.sw - s.pl;
        for (int64_t ci = 0; ci < cg; ++ci)
          for (int64_t kx = 0; kx < s.kw; ++kx) {
            const int64_t ix = ix0 + kx * s.dw;
            *patch++ = ix >= 0 && ix < s.w ? xg[ci * s.w + ix] : 0.0f;
          }
      }
      float* out = t.out.data();
      for (int64_t ox = 0; ox < s.ow; ++ox)
        for (int64_t i = 0; i < mg; ++i) out[ox * mg + i] = bias ? bias[g * mg + i] : 0.0f;
      gemv(static_cast<size_t>(s.ow), t.patch.data(), static_cast<size_t>(kdim), wg,
           static_cast<size_t>(kdim), static_cast<size_t>(mg), out, static_cast<size_t>(mg));
      ApplyActivation(out, out_size, epilogue_);
      float* yg = y + (img * s.m + g * mg) * s.ow;
      for (int64_t ox = 0; ox < s.ow; ++ox)
        for (int64_t i = 0; i < mg; ++i) yg[i * s.ow + ox] = out[ox * mg + i];
    }
  }
}

void ConvKernel::RunDepthwise(KernelContext& ctx, const float* x, const float* w, const float* bias,
                              const ConvShape& s, float* y) const {
  const DwConvShape d{
      static_cast<size_t>(s.h),  static_cast<size_t>(s.w),  static_cast<size_t>(s.oh),
      static_cast<size_t>(s.ow), static_cast<size_t>(s.kh), static_cast<size_t>(s.kw),
      static_cast<size_t>(s.sh), static_cast<size_t>(s.sw), static_cast<size_t>(s.dh),
      static_cast<size_t>(s.dw), static_cast<size_t>(s.pt), static_cast<size_t>(s.pl)};
  const F32DwConvUkernel fn = BestF32DwConvUkernel();
  const int64_t ksz = s.kh * s.kw, in_plane = s.h * s.w, out_plane = s.oh * s.ow;
  auto body = [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t ch = p % s.c;
      float* yp = y + p * out_plane;
      fn(x + p * in_plane, w + ch * ksz, bias ? bias[ch] : 0.0f, yp, d);
      ApplyActivation(yp, static_cast<size_t>(out_plane), epilogue_);
    }
  };
  ThreadPool* pool = ctx.thread_pool();
  const int64_t planes = s.n * s.c;
  if (pool && pool->threads() > 1 && planes * out_plane * ksz >= 100000)
    pool->ParallelFor(planes, std::cref(body));
  else
    body(0, planes);
}

}  // namespace

void Register_conv(KernelRegistry& r) {
  r.Add("", "Conv", Create<ConvKernel>);
  r.Add(kTernDomain, "FusedConv", Create<ConvKernel>);
}

}  // namespace tern::cpu
