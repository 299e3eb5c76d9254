// ConvTranspose: N-D transposed convolution with groups, strides, dilations, pads, auto_pad,
// output_padding and output_shape. Computed per chunk of input positions as a GEMM (W^T x X)
// followed by a scatter-add (col2im) into the output, in the accumulation type.
#include <algorithm>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

class ConvTransposeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(nn::ParseWindowAttrs(info, false, &attrs_));
    group_ = info.GetInt("group", 1);
    if (group_ <= 0) return info.Error(StatusCode::kInvalidModel, "group must be positive");
    output_padding_ = info.GetInts("output_padding");
    output_shape_ = info.GetInts("output_shape");
    for (int64_t p : output_padding_)
      if (p < 0) return info.Error(StatusCode::kInvalidModel, "output_padding must be >= 0");
    for (int64_t p : output_shape_)
      if (p < 0) return info.Error(StatusCode::kInvalidModel, "output_shape must be >= 0");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "ConvTranspose needs inputs X and W");
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (x.rank() < 3 || w.rank() != x.rank())
      return ctx.Error(StatusCode::kInvalidArgument,
                       "bad ranks: X " + x.shape().ToString() + ", W " + w.shape().ToString());
    if (w.dtype() != x.dtype() || (b && b->dtype() != x.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "X, W and B types differ");
    const int64_t n = x.dim(0), c = x.dim(1);
    if (w.dim(0) != c || c % group_ != 0)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "W " + w.shape().ToString() + " does not match X's " + std::to_string(c) +
                           " channels with group " + std::to_string(group_));
    const int64_t m = w.dim(1) * group_;
    if (b && (b->rank() != 1 || b->dim(0) != m))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "B must have shape [" + std::to_string(m) + "]");
    const size_t nd = x.rank() - 2;
    std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
    if (!attrs_.kernel_shape.empty() && attrs_.kernel_shape != kernel)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "kernel_shape does not match W " + w.shape().ToString());
    nn::Window win;
    Status st = Resolve(x, kernel, &win);
    if (!st.ok()) return ctx.Error(st.code(), st.message());
    Shape out_shape{n, m};
    for (size_t i = 0; i < nd; ++i) out_shape.push_back(win.out[i]);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), out_shape));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      Run<T>(x, w, b, win, y);
      return Status::Ok();
    });
  }

 private:
  Status Resolve(const Tensor& x, const std::vector<int64_t>& kernel, nn::Window* w) const {
    const size_t nd = kernel.size();
    auto fill = [&](const std::vector<int64_t>& v, size_t size, int64_t def, const char* what,
                    std::vector<int64_t>* out) -> Status {
      if (v.empty()) {
        out->assign(size, def);
      } else if (v.size() != size) {
        return InvalidArgument(std::string(what) + " must have " + std::to_string(size) +
                               " values");
      } else {
        *out = v;
      }
      return Status::Ok();
    };
    w->nd = nd;
    w->kernel = kernel;
    w->in.assign(x.shape().begin() + 2, x.shape().end());
    std::vector<int64_t> pads, opad;
    TERN_RETURN_IF_ERROR(fill(attrs_.strides, nd, 1, "strides", &w->strides));
    TERN_RETURN_IF_ERROR(fill(attrs_.dilations, nd, 1, "dilations", &w->dilations));
    TERN_RETURN_IF_ERROR(fill(attrs_.pads, 2 * nd, 0, "pads", &pads));
    TERN_RETURN_IF_ERROR(fill(output_padding_, nd, 0, "output_padding", &opad));
    std::vector<int64_t> oshape = output_shape_;
    if (oshape.size() == nd + 2) oshape.erase(oshape.begin(), oshape.begin() + 2);
    if (!oshape.empty() && oshape.size() != nd)
      return InvalidArgument("output_shape must have " + std::to_string(nd) + " values");
    w->pad_begin.resize(nd);
    w->pad_end.resize(nd);
    w->out.resize(nd);
    constexpr int64_t kBig = int64_t{1} << 40;
    for (size_t i = 0; i < nd; ++i) {
      const int64_t s = w->strides[i], d = w->dilations[i], k = kernel[i];
      if (s > kBig || d > kBig || k > kBig || opad[i] > kBig || pads[i] > kBig ||
          pads[nd + i] > kBig || w->in[i] > kBig)
        return InvalidArgument("attribute value too large");
      const int64_t full = s * (w->in[i] - 1) + opad[i] + (k - 1) * d + 1;
      const bool same =
          attrs_.auto_pad == nn::AutoPad::kSameUpper || attrs_.auto_pad == nn::AutoPad::kSameLower;
      if (!oshape.empty() || same) {
        const int64_t target = !oshape.empty() ? oshape[i] : w->in[i] * s;
        const int64_t total = full - target;
        // Floor division, as in the ONNX reference (total may be negative).
        const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        if (attrs_.auto_pad == nn::AutoPad::kSameUpper) {
          w->pad_begin[i] = half;
          w->pad_end[i] = total - half;
        } else {
          w->pad_begin[i] = total - half;
          w->pad_end[i] = half;
        }
        w->out[i] = target;
      } else {
        if (attrs_.auto_pad == nn::AutoPad::kValid) pads[i] = pads[nd + i] = 0;
        w->pad_begin[i] = pads[i];
        w->pad_end[i] = pads[nd + i];
        w->out[i] = full - pads[i] - pads[nd + i];
      }
      if (w->out[i] < 0 || w->in[i] == 0)
        return InvalidArgument("output spatial dim " + std::to_string(i) + " would be " +
                               std::to_string(w->out[i]));
    }
    return Status::Ok();
  }

  template <typename T>
  void Run(const Tensor& x, const Tensor& w, const Tensor* b, const nn::Window& win,
           Tensor* y) const {
    using A = AccT<T>;
    const size_t nd = win.nd;
    const int64_t n = x.dim(0), c = x.dim(1), m = y->dim(1);
    const int64_t cg = c / group_, mg = m / group_;
    const int64_t in_size = x.shape().Product(2, x.rank());
    const int64_t out_size = y->shape().Product(2, y->rank());
    const int64_t ksize = w.shape().Product(2, w.rank());
    const int64_t rows = mg * ksize;
    // wt[g][r][ci] = W[g*cg + ci][r] (W^T per group).
    std::vector<A> wt(static_cast<size_t>(w.numel()));
    const T* pw = w.data<T>();
    for (int64_t g = 0; g < group_; ++g)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t r = 0; r < rows; ++r)
          wt[(g * rows + r) * cg + ci] =
              static_cast<A>(static_cast<AccT<T>>(pw[(g * cg + ci) * rows + r]));
    const std::vector<int64_t> koff = nn::KernelOffsets(win);
    const int64_t chunk = std::max<int64_t>(
        1, std::min<int64_t>(in_size, (int64_t{1} << 20) / std::max<int64_t>(rows, 1)));
    std::vector<A> xa(static_cast<size_t>(c * in_size));
    std::vector<A> col(static_cast<size_t>(rows * chunk));
    std::vector<A> acc(static_cast<size_t>(m * out_size));
    std::vector<int64_t> base(static_cast<size_t>(chunk) * nd);
    const T* px = x.data<T>();
    T* py = y->data<T>();
    for (int64_t in_n = 0; in_n < n; ++in_n) {
      nn::ToAcc(px + in_n * c * in_size, c * in_size, xa.data());
      for (int64_t mi = 0; mi < m; ++mi)
        std::fill(acc.begin() + mi * out_size, acc.begin() + (mi + 1) * out_size,
                  b ? static_cast<A>(static_cast<AccT<T>>(b->data<T>()[mi])) : A(0));
      std::vector<int64_t> iidx(nd, 0);
      for (int64_t j0 = 0; j0 < in_size; j0 += chunk) {
        const int64_t cols = std::min(chunk, in_size - j0);
        nn::WindowOrigins(win, win.in, cols, iidx, base.data());
        for (int64_t g = 0; g < group_; ++g) {
          std::fill(col.begin(), col.begin() + rows * cols, A(0));
          nn::GemmAcc<A>(rows, cols, cg, wt.data() + g * rows * cg, cg,
                         xa.data() + g * cg * in_size + j0, in_size, col.data(), cols);
          for (int64_t r = 0; r < rows; ++r) {
            const int64_t mi = r / ksize, k = r % ksize;
            const int64_t* ko = koff.data() + k * nd;
            A* dst = acc.data() + (g * mg + mi) * out_size;
            for (int64_t j = 0; j < cols; ++j) {
              const int64_t lin = nn::LinearInside(base.data() + j * nd, ko, win.out);
              if (lin >= 0) dst[lin] += col[r * cols + j];
            }
          }
        }
      }
      T* dst = py + in_n * m * out_size;
      for (int64_t i = 0; i < m * out_size; ++i) dst[i] = static_cast<T>(acc[i]);
    }
  }

  nn::WindowAttrs attrs_;
  int64_t group_ = 1;
  std::vector<int64_t> output_padding_, output_shape_;
};

}  // namespace

void Register_conv_transpose(KernelRegistry& r) {
  r.Add("", "ConvTranspose", Create<ConvTransposeKernel>);
}

}  // namespace tern::ref
