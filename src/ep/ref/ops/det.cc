// Det: determinants of the trailing square matrices of a (*, M, M) tensor, by LU decomposition
// with partial pivoting in the accumulation type.
#include <cmath>
#include <utility>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

class DetKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "missing input X");
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2 || x.dim(x.rank() - 1) != x.dim(x.rank() - 2))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must be (*, M, M), got " + x.shape().ToString());
    const int64_t m = x.dim(x.rank() - 1);
    Shape out_shape(x.shape().data(), x.rank() - 2);
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), out_shape));
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccT<T>;
      const int64_t count = out_shape.NumElements();
      std::vector<A> a(static_cast<size_t>(m * m));
      for (int64_t b = 0; b < count; ++b) {
        nn::ToAcc(x.data<T>() + b * m * m, m * m, a.data());
        A det = 1;
        for (int64_t col = 0; col < m; ++col) {
          int64_t piv = col;
          for (int64_t r = col + 1; r < m; ++r)
            if (std::abs(a[r * m + col]) > std::abs(a[piv * m + col])) piv = r;
          if (a[piv * m + col] == A(0)) {
            det = 0;
            break;
          }
          if (piv != col) {
            for (int64_t k = 0; k < m; ++k) std::swap(a[piv * m + k], a[col * m + k]);
            det = -det;
          }
          const A p = a[col * m + col];
          det *= p;
          for (int64_t r = col + 1; r < m; ++r) {
            const A f = a[r * m + col] / p;
            for (int64_t k = col; k < m; ++k) a[r * m + k] -= f * a[col * m + k];
          }
        }
        y->data<T>()[b] = static_cast<T>(det);
      }
      return Status::Ok();
    });
  }
};

}  // namespace

void Register_det(KernelRegistry& r) { r.Add("", "Det", Create<DetKernel>); }

}  // namespace tern::ref
