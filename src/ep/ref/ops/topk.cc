// TopK: the k largest (or smallest) elements along an axis with their int64 indices. k is an
// attribute before opset 10 and an input after; largest/sorted arrive in opset 11. Equal values
// keep the lower index first; the output is always sorted (allowed when sorted=0). NaN counts as
// larger than every number.
#include <algorithm>
#include <numeric>

#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class TopKKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", -1);
    largest_ = info.GetInt("largest", 1) != 0;
    k_from_attr_ = info.opset() < 10;
    if (k_from_attr_) {
      if (!info.has_attr("k")) return info.Error(StatusCode::kInvalidModel, "k is required");
      k_attr_ = info.GetInt("k", 0);
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "X"));
    const Tensor& x = ctx.input(0);
    int64_t k = k_attr_;
    if (!k_from_attr_) {
      TERN_ASSIGN_OR_RETURN(k, ReadIntScalar(ctx, 1, "K"));
    }
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0) return ctx.Error(StatusCode::kInvalidArgument, "X must have rank >= 1");
    auto axis_r = NormalizeAxis(axis_, rank);
    if (!axis_r.ok()) return axis_r.status().WithContext(ctx.node().Describe());
    const size_t axis = static_cast<size_t>(*axis_r);
    const int64_t dim = x.dim(axis);
    if (k < 0 || k > dim)
      return ctx.Error(StatusCode::kOutOfRange,
                       "k " + std::to_string(k) + " is outside [0, " + std::to_string(dim) + "]");
    const int64_t outer = x.shape().Product(0, axis);
    const int64_t inner = x.shape().Product(axis + 1, x.rank());
    Shape out_shape = x.shape();
    out_shape[axis] = k;
    return Visit<kNumeric>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      TERN_ASSIGN_OR_RETURN(Tensor * values, ctx.Output(0, x.dtype(), out_shape));
      Tensor* indices = nullptr;
      if (ctx.output_wanted(1)) {
        TERN_ASSIGN_OR_RETURN(indices, ctx.Output(1, DataType::kInt64, out_shape));
      }
      const T* p = x.data<T>();
      std::vector<int64_t> idx(static_cast<size_t>(dim));
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          auto at = [&](int64_t j) -> const T& { return p[(o * dim + j) * inner + i]; };
          std::iota(idx.begin(), idx.end(), 0);
          auto before = [&](int64_t a, int64_t b) {
            const bool lt = largest_ ? TotalLess(at(b), at(a)) : TotalLess(at(a), at(b));
            if (lt) return true;
            const bool gt = largest_ ? TotalLess(at(a), at(b)) : TotalLess(at(b), at(a));
            return !gt && a < b;
          };
          std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), before);
          for (int64_t j = 0; j < k; ++j) {
            const int64_t dst = (o * k + j) * inner + i;
            values->data<T>()[dst] = at(idx[j]);
            if (indices) indices->data<int64_t>()[dst] = idx[j];
          }
        }
      return Status::Ok();
    });
  }

 private:
  int64_t axis_ = -1;
  bool largest_ = true;
  bool k_from_attr_ = false;
  int64_t k_attr_ = 0;
};

}  // namespace

void Register_topk(KernelRegistry& r) { r.Add("", "TopK", Create<TopKKernel>); }

}  // namespace tern::ref
