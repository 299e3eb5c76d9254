// Conv: N-D convolution (1-D, 2-D, 3-D, ...) with groups, strides, dilations, pads, auto_pad and
// an optional bias. Computed as im2col over chunks of output positions followed by a plain GEMM
// in the accumulation type (float for float/float16/bfloat16, double for double).
#include <algorithm>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

class ConvKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(nn::ParseWindowAttrs(info, false, &attrs_));
    group_ = info.GetInt("group", 1);
    if (group_ <= 0) return info.Error(StatusCode::kInvalidModel, "group must be positive");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "Conv needs inputs X and W");
    const Tensor& x = ctx.input(0);
    const Tensor& w = ctx.input(1);
    const Tensor* b = ctx.has_input(2) ? &ctx.input(2) : nullptr;
    if (x.rank() < 3)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must have rank >= 3, got " + x.shape().ToString());
    if (w.rank() != x.rank())
      return ctx.Error(StatusCode::kInvalidArgument, "W " + w.shape().ToString() + " and X " +
                                                         x.shape().ToString() + " ranks differ");
    if (w.dtype() != x.dtype() || (b && b->dtype() != x.dtype()))
      return ctx.Error(StatusCode::kInvalidArgument, "X, W and B types differ");
    const int64_t n = x.dim(0), c = x.dim(1), m = w.dim(0), cg = w.dim(1);
    if (c % group_ != 0 || cg * group_ != c)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X has " + std::to_string(c) + " channels but W expects " +
                           std::to_string(cg) + " x group " + std::to_string(group_));
    if (m % group_ != 0)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "W's " + std::to_string(m) + " output channels are not divisible by group " +
                           std::to_string(group_));
    if (b && (b->rank() != 1 || b->dim(0) != m))
      return ctx.Error(StatusCode::kInvalidArgument, "B must have shape [" + std::to_string(m) +
                                                         "], got " + b->shape().ToString());
    const size_t nd = x.rank() - 2;
    std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
    if (!attrs_.kernel_shape.empty() && attrs_.kernel_shape != kernel)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "kernel_shape does not match W " + w.shape().ToString());
    nn::Window win;
    Status st = nn::ResolveWindow(attrs_, in, kernel, false, &win);
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
  template <typename T>
  void Run(const Tensor& x, const Tensor& w, const Tensor* b, const nn::Window& win,
           Tensor* y) const {
    using A = AccT<T>;
    const size_t nd = win.nd;
    const int64_t n = x.dim(0), c = x.dim(1), m = w.dim(0);
    const int64_t cg = c / group_, mg = m / group_;
    const int64_t in_size = x.shape().Product(2, x.rank());
    const int64_t out_size = y->shape().Product(2, y->rank());
    const int64_t ksize = w.shape().Product(2, w.rank());
    const int64_t rows = cg * ksize;
    std::vector<A> wa(static_cast<size_t>(w.numel()));
    nn::ToAcc(w.data<T>(), w.numel(), wa.data());
    std::vector<A> bias(static_cast<size_t>(m), A(0));
    if (b) nn::ToAcc(b->data<T>(), m, bias.data());
    const std::vector<int64_t> koff = nn::KernelOffsets(win);
    const int64_t chunk = std::max<int64_t>(
        1, std::min<int64_t>(out_size, (int64_t{1} << 20) / std::max<int64_t>(rows, 1)));
    std::vector<A> xa(static_cast<size_t>(c * in_size));
    std::vector<A> col(static_cast<size_t>(rows * chunk));
    std::vector<A> acc(static_cast<size_t>(mg * chunk));
    std::vector<int64_t> base(static_cast<size_t>(chunk) * nd);
    const T* px = x.data<T>();
    T* py = y->data<T>();
    for (int64_t in_n = 0; in_n < n; ++in_n) {
      nn::ToAcc(px + in_n * c * in_size, c * in_size, xa.data());
      std::vector<int64_t> oidx(nd, 0);
      for (int64_t j0 = 0; j0 < out_size; j0 += chunk) {
        const int64_t cols = std::min(chunk, out_size - j0);
        nn::WindowOrigins(win, win.out, cols, oidx, base.data());
        for (int64_t g = 0; g < group_; ++g) {
          const A* xg = xa.data() + g * cg * in_size;
          for (int64_t ci = 0; ci < cg; ++ci) {
            for (int64_t k = 0; k < ksize; ++k) {
              A* crow = col.data() + (ci * ksize + k) * cols;
              const int64_t* ko = koff.data() + k * nd;
              for (int64_t j = 0; j < cols; ++j) {
                const int64_t lin = nn::LinearInside(base.data() + j * nd, ko, win.in);
                crow[j] = lin >= 0 ? xg[ci * in_size + lin] : A(0);
              }
            }
          }
          for (int64_t mi = 0; mi < mg; ++mi)
            std::fill(acc.begin() + mi * cols, acc.begin() + (mi + 1) * cols, bias[g * mg + mi]);
          nn::GemmAcc<A>(mg, cols, rows, wa.data() + g * mg * rows, rows, col.data(), cols,
                         acc.data(), cols);
          for (int64_t mi = 0; mi < mg; ++mi) {
            T* dst = py + (in_n * m + g * mg + mi) * out_size + j0;
            for (int64_t j = 0; j < cols; ++j) dst[j] = static_cast<T>(acc[mi * cols + j]);
          }
        }
      }
    }
  }

  nn::WindowAttrs attrs_;
  int64_t group_ = 1;
};

}  // namespace

void Register_conv(KernelRegistry& r) { r.Add("", "Conv", Create<ConvKernel>); }

}  // namespace tern::ref
