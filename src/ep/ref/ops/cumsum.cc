// CumSum along one axis (a scalar int32/int64 input), optionally exclusive and/or reversed.
// Sums are kept in the element type, rounding after every addition like numpy.cumsum.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class CumSumKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    exclusive_ = info.GetInt("exclusive", 0) != 0;
    reverse_ = info.GetInt("reverse", 0) != 0;
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "x"));
    const Tensor& x = ctx.input(0);
    TERN_ASSIGN_OR_RETURN(int64_t axis_raw, ReadIntScalar(ctx, 1, "axis"));
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0) return ctx.Error(StatusCode::kInvalidArgument, "x must have rank >= 1");
    auto axis_r = NormalizeAxis(axis_raw, rank);
    if (!axis_r.ok()) return axis_r.status().WithContext(ctx.node().Describe());
    const size_t axis = static_cast<size_t>(*axis_r);
    const int64_t outer = x.shape().Product(0, axis);
    const int64_t dim = x.dim(axis);
    const int64_t inner = x.shape().Product(axis + 1, x.rank());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kNumeric>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = AccT<T>;
      const T* in = x.data<T>();
      T* o = out->data<T>();
      for (int64_t a = 0; a < outer; ++a)
        for (int64_t b = 0; b < inner; ++b) {
          T sum = static_cast<T>(C(0));
          for (int64_t s = 0; s < dim; ++s) {
            const int64_t k = reverse_ ? dim - 1 - s : s;
            const int64_t p = (a * dim + k) * inner + b;
            const T v = in[p];
            if (exclusive_) o[p] = sum;
            sum = WrapAdd(sum, v);
            if (!exclusive_) o[p] = sum;
          }
        }
      return Status::Ok();
    });
  }

 private:
  bool exclusive_ = false;
  bool reverse_ = false;
};

}  // namespace

void Register_cumsum(KernelRegistry& r) { r.Add("", "CumSum", Create<CumSumKernel>); }

}  // namespace tern::ref
