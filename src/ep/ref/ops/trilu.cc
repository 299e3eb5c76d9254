// Trilu: keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes and
// zeroes the rest ("" for strings). k is the optional second input.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class TriluKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    upper_ = info.GetInt("upper", 1) != 0;
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "input"));
    const Tensor& x = ctx.input(0);
    if (x.rank() < 2)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "input must have rank >= 2, got " + x.shape().ToString());
    int64_t k = 0;
    if (ctx.has_input(1)) {
      TERN_ASSIGN_OR_RETURN(k, ReadIntScalar(ctx, 1, "k"));
    }
    const int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
    const int64_t mats = x.shape().Product(0, x.rank() - 2);
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
    return Visit<kAllTypes>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* in = x.data<T>();
      T* o = out->data<T>();
      for (int64_t m = 0; m < mats; ++m)
        for (int64_t i = 0; i < rows; ++i)
          for (int64_t j = 0; j < cols; ++j) {
            const int64_t p = (m * rows + i) * cols + j;
            // j - i cannot overflow: both are dims; compare without computing i + k.
            const bool keep = upper_ ? (j - i >= k) : (j - i <= k);
            o[p] = keep ? in[p] : T{};
          }
      return Status::Ok();
    });
  }

 private:
  bool upper_ = true;
};

}  // namespace

void Register_trilu(KernelRegistry& r) { r.Add("", "Trilu", Create<TriluKernel>); }

}  // namespace tern::ref
