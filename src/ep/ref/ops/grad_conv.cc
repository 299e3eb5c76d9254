// ConvGrad(dY, X, W; Conv's attributes) -> dX, dW, dB  (domain ai.tern)
//
// For each image and group, with col = im2col(X) (rows = channels x kernel taps, one column per
// output position; stored transposed for dW):   dW += dY * col^T,   dcol = W^T * dY,   dX =
// col2im(dcol),   dB = sum(dY). The tap -> input position table is built once per call and shared
// by im2col and col2im, so any number of spatial dims, strides, dilations, pads and groups
// (depthwise too) take one path.
#include <algorithm>

#include "ep/ref/grad_util.h"

namespace tern::ref {
namespace {

class ConvGradKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(nn::ParseWindowAttrs(info, false, &attrs_));
    group_ = info.GetInt("group", 1);
    if (group_ <= 0) return info.Error(StatusCode::kInvalidModel, "group must be positive");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 3));
    const Tensor& dy = ctx.input(0);
    const Tensor& x = ctx.input(1);
    const Tensor& w = ctx.input(2);
    if (x.rank() < 3 || w.rank() != x.rank() || dy.rank() != x.rank() || x.dtype() != w.dtype() ||
        dy.dtype() != x.dtype())
      return ctx.Error(StatusCode::kInvalidArgument, "X, W and dY do not match");
    const int64_t c = x.dim(1), m = w.dim(0);
    if (c % group_ != 0 || w.dim(1) * group_ != c || m % group_ != 0)
      return ctx.Error(StatusCode::kInvalidArgument, "channels do not match group");
    std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
    nn::Window win;
    Status st = nn::ResolveWindow(attrs_, in, kernel, false, &win);
    if (!st.ok()) return ctx.Error(st.code(), st.message());
    bool shape_ok = dy.dim(0) == x.dim(0) && dy.dim(1) == m;
    for (size_t d = 0; d < win.nd; ++d) shape_ok = shape_ok && dy.dim(2 + d) == win.out[d];
    if (!shape_ok)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "dY " + dy.shape().ToString() + " is not Conv's output shape");
    Tensor *dx = nullptr, *dw = nullptr, *db = nullptr;
    if (ctx.output_wanted(0)) {
      TERN_ASSIGN_OR_RETURN(dx, ctx.Output(0, x.dtype(), x.shape()));
    }
    if (ctx.output_wanted(1)) {
      TERN_ASSIGN_OR_RETURN(dw, ctx.Output(1, w.dtype(), w.shape()));
    }
    if (ctx.output_wanted(2)) {
      TERN_ASSIGN_OR_RETURN(db, ctx.Output(2, w.dtype(), Shape{m}));
    }
    return VisitGradType(ctx, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      Run<T>(dy, x, w, win, dx, dw, db);
      return Status::Ok();
    });
  }

 private:
  template <typename T>
  void Run(const Tensor& dy, const Tensor& x, const Tensor& w, const nn::Window& win, Tensor* dx,
           Tensor* dw, Tensor* db) const {
    const size_t nd = win.nd;
    const int64_t n = x.dim(0), c = x.dim(1), m = w.dim(0);
    const int64_t cg = c / group_, mg = m / group_;
    const int64_t in_size = x.shape().Product(2, x.rank());
    const int64_t cols = dy.shape().Product(2, dy.rank());
    const int64_t ksize = w.shape().Product(2, w.rank());
    const int64_t rows = cg * ksize;
    // tap[k * cols + j]: offset inside one input channel read by kernel tap k at output j, or -1.
    std::vector<int64_t> tap(static_cast<size_t>(ksize * cols));
    const std::vector<int64_t> koff = nn::KernelOffsets(win);
    std::vector<int64_t> base(static_cast<size_t>(cols) * nd), oidx(nd, 0);
    nn::WindowOrigins(win, win.out, cols, oidx, base.data());
    for (int64_t k = 0; k < ksize; ++k)
      for (int64_t j = 0; j < cols; ++j)
        tap[k * cols + j] = nn::LinearInside(base.data() + j * nd, koff.data() + k * nd, win.in);
    std::vector<T> col(static_cast<size_t>(rows * cols));
    T* pdw = dw ? dw->data<T>() : nullptr;
    T* pdx = dx ? dx->data<T>() : nullptr;
    if (pdw) std::fill(pdw, pdw + w.numel(), T(0));
    if (pdx) std::fill(pdx, pdx + x.numel(), T(0));
    if (db) {
      T* pdb = db->data<T>();
      for (int64_t mi = 0; mi < m; ++mi) {
        T s = 0;
        for (int64_t b = 0; b < n; ++b) {
          const T* g = dy.data<T>() + (b * m + mi) * cols;
          for (int64_t j = 0; j < cols; ++j) s += g[j];
        }
        pdb[mi] = s;
      }
    }
    const T* pw = w.data<T>();
    for (int64_t b = 0; b < n; ++b)
      for (int64_t g = 0; g < group_; ++g) {
        const T* xg = x.data<T>() + (b * c + g * cg) * in_size;
        const T* dyg = dy.data<T>() + (b * m + g * mg) * cols;
        if (pdw) {
          // im2col transposed (one row of taps per output position) so that dW accumulates
          // with contiguous axpy updates, which vectorize without reassociating sums.
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t k = 0; k < ksize; ++k) {
              const int64_t r = ci * ksize + k;
              const int64_t* t = tap.data() + k * cols;
              for (int64_t j = 0; j < cols; ++j)
                col[j * rows + r] = t[j] >= 0 ? xg[ci * in_size + t[j]] : T(0);
            }
          for (int64_t j = 0; j < cols; ++j) {
            const T* crow = col.data() + j * rows;
            for (int64_t mi = 0; mi < mg; ++mi) {
              const T gv = dyg[mi * cols + j];
              if (gv == T(0)) continue;  // common after Relu
              T* wrow = pdw + (g * mg + mi) * rows;
              for (int64_t r = 0; r < rows; ++r) wrow[r] += gv * crow[r];
            }
          }
        }
        if (pdx) {
          std::fill(col.begin(), col.end(), T(0));
          for (int64_t mi = 0; mi < mg; ++mi) {
            const T* grow = dyg + mi * cols;
            const T* wrow = pw + (g * mg + mi) * rows;
            for (int64_t r = 0; r < rows; ++r) {
              const T wv = wrow[r];
              T* crow = col.data() + r * cols;
              for (int64_t j = 0; j < cols; ++j) crow[j] += wv * grow[j];
            }
          }
          T* dxg = pdx + (b * c + g * cg) * in_size;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t k = 0; k < ksize; ++k) {
              const T* crow = col.data() + (ci * ksize + k) * cols;
              const int64_t* t = tap.data() + k * cols;
              for (int64_t j = 0; j < cols; ++j)
                if (t[j] >= 0) dxg[ci * in_size + t[j]] += crow[j];
            }
        }
      }
  }

  nn::WindowAttrs attrs_;
  int64_t group_ = 1;
};

}  // namespace

void Register_grad_conv(KernelRegistry& r) {
  r.Add(kTernDomain, "ConvGrad", Create<ConvGradKernel>);
}

}  // namespace tern::ref
