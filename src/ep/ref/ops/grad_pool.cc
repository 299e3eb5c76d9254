// MaxPoolGrad(dY, X) and AveragePoolGrad(dY, X) with the forward op's attributes (ai.tern).
// The window geometry is resolved exactly as the forward pool does (nn::ResolveWindow), then each
// output position lists the input offsets its window covers: MaxPool routes dY to the first
// largest input of the window (the forward's choice), AveragePool spreads dY / count over the
// window (count includes pads when count_include_pad is set).
#include <algorithm>

#include "ep/ref/grad_util.h"

namespace tern::ref {
namespace {

template <bool kMax>
class PoolGradKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(nn::ParseWindowAttrs(info, true, &attrs_));
    if (attrs_.kernel_shape.empty())
      return info.Error(StatusCode::kInvalidModel, "kernel_shape is required");
    count_include_pad_ = info.GetInt("count_include_pad", 0) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 2));
    const Tensor& dy = ctx.input(0);
    const Tensor& x = ctx.input(1);
    if (x.rank() < 3 || attrs_.kernel_shape.size() != x.rank() - 2 || dy.dtype() != x.dtype())
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X " + x.shape().ToString() + " does not match kernel_shape");
    std::vector<int64_t> in(x.shape().begin() + 2, x.shape().end());
    nn::Window win;
    Status st = nn::ResolveWindow(attrs_, in, attrs_.kernel_shape, true, &win);
    if (!st.ok()) return ctx.Error(st.code(), st.message());
    bool shape_ok = dy.rank() == x.rank() && dy.dim(0) == x.dim(0) && dy.dim(1) == x.dim(1);
    for (size_t d = 0; shape_ok && d < win.nd; ++d) shape_ok = dy.dim(2 + d) == win.out[d];
    if (!shape_ok)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "dY " + dy.shape().ToString() + " is not the pool's output shape");
    // Per output position: the covered input offsets and the divisor.
    const int64_t out_size = dy.shape().Product(2, dy.rank());
    std::vector<std::vector<int64_t>> taps(static_cast<size_t>(out_size));
    std::vector<int64_t> count(static_cast<size_t>(out_size), 0);
    std::vector<int64_t> oidx(win.nd, 0), kidx(win.nd);
    for (int64_t o = 0; o < out_size; ++o) {
      std::fill(kidx.begin(), kidx.end(), 0);
      int64_t padded = 0;
      do {
        int64_t lin = 0;
        bool inside = true, in_pads = true;
        for (size_t d = 0; d < win.nd; ++d) {
          const int64_t p =
              oidx[d] * win.strides[d] - win.pad_begin[d] + kidx[d] * win.dilations[d];
          in_pads = in_pads && p >= -win.pad_begin[d] && p < win.in[d] + win.pad_end[d];
          inside = inside && p >= 0 && p < win.in[d];
          lin = lin * win.in[d] + p;
        }
        if (in_pads) ++padded;
        if (inside) taps[o].push_back(lin);
      } while (nn::NextIndex(kidx, win.kernel));
      count[o] = count_include_pad_ ? padded : static_cast<int64_t>(taps[o].size());
      nn::NextIndex(oidx, win.out);
    }
    TERN_ASSIGN_OR_RETURN(Tensor * dx, ctx.Output(0, x.dtype(), x.shape()));
    return VisitGradType(ctx, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const int64_t planes = x.dim(0) * x.dim(1), in_size = x.shape().Product(2, x.rank());
      T* pdx = dx->data<T>();
      std::fill(pdx, pdx + x.numel(), T(0));
      for (int64_t pl = 0; pl < planes; ++pl) {
        const T* xp = x.data<T>() + pl * in_size;
        const T* gp = dy.data<T>() + pl * out_size;
        T* dp = pdx + pl * in_size;
        for (int64_t o = 0; o < out_size; ++o) {
          const auto& t = taps[o];
          if (t.empty()) continue;
          if constexpr (kMax) {
            int64_t best = t[0];
            for (int64_t lin : t)
              if (xp[lin] > xp[best]) best = lin;
            dp[best] += gp[o];
          } else {
            const T share = count[o] > 0 ? gp[o] / static_cast<T>(count[o]) : T(0);
            for (int64_t lin : t) dp[lin] += share;
          }
        }
      }
      return Status::Ok();
    });
  }

 private:
  nn::WindowAttrs attrs_;
  bool count_include_pad_ = false;
};

}  // namespace

void Register_grad_pool(KernelRegistry& r) {
  r.Add(kTernDomain, "MaxPoolGrad", Create<PoolGradKernel<true>>);
  r.Add(kTernDomain, "AveragePoolGrad", Create<PoolGradKernel<false>>);
}

}  // namespace tern::ref
