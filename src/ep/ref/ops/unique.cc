// Unique: the distinct elements (or, with `axis`, distinct slices along that axis) of X, sorted
// ascending (sorted=1, slices compared lexicographically) or in order of first occurrence.
// Outputs Y, indices (first occurrences), inverse_indices and counts; the last three are int64.
#include <algorithm>
#include <numeric>

#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

class UniqueKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    sorted_ = info.GetInt("sorted", 1) != 0;
    has_axis_ = info.has_attr("axis");
    axis_ = info.GetInt("axis", 0);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "X"));
    const Tensor& x = ctx.input(0);
    int64_t outer = 1, dim = x.numel(), inner = 1;
    size_t axis = 0;
    if (has_axis_) {
      const int64_t rank = static_cast<int64_t>(x.rank());
      if (rank == 0) return ctx.Error(StatusCode::kInvalidArgument, "X must have rank >= 1");
      auto axis_r = NormalizeAxis(axis_, rank);
      if (!axis_r.ok()) return axis_r.status().WithContext(ctx.node().Describe());
      axis = static_cast<size_t>(*axis_r);
      outer = x.shape().Product(0, axis);
      dim = x.dim(axis);
      inner = x.shape().Product(axis + 1, x.rank());
    }
    // Items are the slices along the axis (single elements without an axis).
    std::vector<int64_t> order(static_cast<size_t>(dim));
    std::iota(order.begin(), order.end(), 0);
    std::vector<int64_t> group_of(static_cast<size_t>(dim));  // item -> group (sorted order)
    std::vector<int64_t> first, count;                        // per group
    TERN_RETURN_IF_ERROR(Visit<kAllTypes>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* p = x.data<T>();
      // -1, 0, 1 comparing items a and b lexicographically.
      auto cmp = [&](int64_t a, int64_t b) {
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t i = 0; i < inner; ++i) {
            const T& u = p[(o * dim + a) * inner + i];
            const T& v = p[(o * dim + b) * inner + i];
            if (TotalLess(u, v)) return -1;
            if (TotalLess(v, u)) return 1;
          }
        return 0;
      };
      std::stable_sort(order.begin(), order.end(),
                       [&](int64_t a, int64_t b) { return cmp(a, b) < 0; });
      for (size_t k = 0; k < order.size(); ++k) {
        if (k == 0 || cmp(order[k - 1], order[k]) != 0) {
          first.push_back(order[k]);  // stable sort: the lowest index of its group comes first
          count.push_back(0);
        }
        group_of[order[k]] = static_cast<int64_t>(first.size()) - 1;
        ++count.back();
      }
      return Status::Ok();
    }));
    const int64_t u = static_cast<int64_t>(first.size());
    // Output position of each group.
    std::vector<int64_t> groups(static_cast<size_t>(u));
    std::iota(groups.begin(), groups.end(), 0);
    if (!sorted_)
      std::sort(groups.begin(), groups.end(),
                [&](int64_t a, int64_t b) { return first[a] < first[b]; });
    std::vector<int64_t> pos_of_group(static_cast<size_t>(u));
    for (int64_t k = 0; k < u; ++k) pos_of_group[groups[k]] = k;

    Shape y_shape = Shape{u};
    if (has_axis_) {
      y_shape = x.shape();
      y_shape[axis] = u;
    }
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), y_shape));
    ElemCopier copy(x.dtype());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < u; ++k)
        copy(y->raw(), (o * u + k) * inner, x.raw(), (o * dim + first[groups[k]]) * inner, inner);
    if (ctx.output_wanted(1)) {
      TERN_ASSIGN_OR_RETURN(Tensor * t, ctx.Output(1, DataType::kInt64, Shape{u}));
      for (int64_t k = 0; k < u; ++k) t->data<int64_t>()[k] = first[groups[k]];
    }
    if (ctx.output_wanted(2)) {
      TERN_ASSIGN_OR_RETURN(Tensor * t, ctx.Output(2, DataType::kInt64, Shape{dim}));
      for (int64_t k = 0; k < dim; ++k) t->data<int64_t>()[k] = pos_of_group[group_of[k]];
    }
    if (ctx.output_wanted(3)) {
      TERN_ASSIGN_OR_RETURN(Tensor * t, ctx.Output(3, DataType::kInt64, Shape{u}));
      for (int64_t k = 0; k < u; ++k) t->data<int64_t>()[k] = count[groups[k]];
    }
    return Status::Ok();
  }

 private:
  bool sorted_ = true;
  bool has_axis_ = false;
  int64_t axis_ = 0;
};

}  // namespace

void Register_unique(KernelRegistry& r) { r.Add("", "Unique", Create<UniqueKernel>); }

}  // namespace tern::ref
