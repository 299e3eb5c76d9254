// Gather, GatherElements, GatherND. Every data dtype, strings included; int32 or int64 indices,
// negative indices count from the end; an index out of range is an OutOfRange error.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

Status BadIndex(const KernelContext& ctx, int64_t idx, int64_t dim) {
  return ctx.Error(StatusCode::kOutOfRange, "index " + std::to_string(idx) +
                                                " is out of range for an axis of size " +
                                                std::to_string(dim));
}

/// Wraps a negative index; false when it is outside [-dim, dim).
inline bool FixIndex(int64_t& idx, int64_t dim) {
  if (idx < -dim || idx >= dim) return false;
  if (idx < 0) idx += dim;
  return true;
}

class GatherKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", 0);
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "indices"));
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    TERN_RETURN_IF_ERROR(CheckIndexType(ctx, ind, "indices"));
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0) return ctx.Error(StatusCode::kInvalidArgument, "data must have rank >= 1");
    auto axis_r = NormalizeAxis(axis_, rank);
    if (!axis_r.ok()) return axis_r.status().WithContext(ctx.node().Describe());
    const size_t axis = static_cast<size_t>(*axis_r);
    Shape out_shape;
    for (size_t d = 0; d < axis; ++d) out_shape.push_back(x.dim(d));
    for (size_t d = 0; d < ind.rank(); ++d) out_shape.push_back(ind.dim(d));
    for (size_t d = axis + 1; d < x.rank(); ++d) out_shape.push_back(x.dim(d));
    const int64_t dim = x.dim(axis);
    const int64_t n = ind.numel();
    for (int64_t k = 0; k < n; ++k) {
      int64_t idx = IndexAt(ind, k);
      if (!FixIndex(idx, dim)) return BadIndex(ctx, idx, dim);
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    const int64_t outer = x.shape().Product(0, axis);
    const int64_t inner = x.shape().Product(axis + 1, x.rank());
    ElemCopier copy(x.dtype());
    int64_t pos = 0;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k = 0; k < n; ++k) {
        int64_t idx = IndexAt(ind, k);
        FixIndex(idx, dim);
        copy(out->raw(), pos, x.raw(), (o * dim + idx) * inner, inner);
        pos += inner;
      }
    }
    return Status::Ok();
  }

 private:
  int64_t axis_ = 0;
};

class GatherElementsKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", 0);
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "indices"));
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    TERN_RETURN_IF_ERROR(CheckIndexType(ctx, ind, "indices"));
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0 || ind.rank() != x.rank())
      return ctx.Error(StatusCode::kInvalidArgument,
                       "data and indices must have the same rank >= 1, got " +
                           x.shape().ToString() + " and " + ind.shape().ToString());
    auto axis_r = NormalizeAxis(axis_, rank);
    if (!axis_r.ok()) return axis_r.status().WithContext(ctx.node().Describe());
    const int64_t axis = *axis_r;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && ind.dim(d) > x.dim(d))
        return ctx.Error(StatusCode::kOutOfRange, "indices shape " + ind.shape().ToString() +
                                                      " exceeds data shape " +
                                                      x.shape().ToString());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), ind.shape()));
    const std::vector<int64_t> strides = Strides(x.shape());
    const int64_t dim = x.dim(axis);
    ElemCopier copy(x.dtype());
    Status st;
    ForEachIndex(ind.shape(), [&](int64_t i, const int64_t* c) {
      if (!st.ok()) return;
      int64_t idx = IndexAt(ind, i);
      if (!FixIndex(idx, dim)) {
        st = BadIndex(ctx, idx, dim);
        return;
      }
      int64_t off = 0;
      for (int64_t d = 0; d < rank; ++d) off += (d == axis ? idx : c[d]) * strides[d];
      copy(out->raw(), i, x.raw(), off);
    });
    return st;
  }

 private:
  int64_t axis_ = 0;
};

class GatherNDKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    batch_dims_ = info.GetInt("batch_dims", 0);
    if (batch_dims_ < 0) return info.Error(StatusCode::kInvalidModel, "batch_dims must be >= 0");
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "indices"));
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    if (ind.dtype() != DataType::kInt64)
      return ctx.Error(StatusCode::kInvalidArgument, "indices must be int64");
    const int64_t r = static_cast<int64_t>(x.rank());
    const int64_t q = static_cast<int64_t>(ind.rank());
    const int64_t b = batch_dims_;
    if (r < 1 || q < 1 || b >= std::min(r, q))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "batch_dims must be less than the ranks of data and indices");
    for (int64_t d = 0; d < b; ++d)
      if (x.dim(d) != ind.dim(d))
        return ctx.Error(StatusCode::kInvalidArgument, "batch dimensions of data " +
                                                           x.shape().ToString() + " and indices " +
                                                           ind.shape().ToString() + " differ");
    const int64_t m = ind.dim(q - 1);
    if (m < 1 || m > r - b)
      return ctx.Error(StatusCode::kInvalidArgument, "last indices dimension " + std::to_string(m) +
                                                         " must be in [1, " +
                                                         std::to_string(r - b) + "]");
    Shape out_shape;
    for (int64_t d = 0; d < q - 1; ++d) out_shape.push_back(ind.dim(d));
    for (int64_t d = b + m; d < r; ++d) out_shape.push_back(x.dim(d));
    const int64_t batches = ind.shape().Product(0, b);
    const int64_t tuples = ind.shape().Product(b, q - 1);
    const int64_t slice = x.shape().Product(b + m, r);
    const int64_t batch_stride = x.shape().Product(b, r);
    const std::vector<int64_t> strides = Strides(x.shape());
    const int64_t* iv = ind.data<int64_t>();
    // Validate before allocating so a bad index never leaves a half-written output.
    for (int64_t k = 0; k < batches * tuples * m; ++k) {
      int64_t idx = iv[k];
      const int64_t dim = x.dim(b + k % m);
      if (!FixIndex(idx, dim)) return BadIndex(ctx, idx, dim);
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    ElemCopier copy(x.dtype());
    int64_t pos = 0;
    for (int64_t bi = 0; bi < batches; ++bi) {
      for (int64_t t = 0; t < tuples; ++t) {
        const int64_t* tup = iv + (bi * tuples + t) * m;
        int64_t off = bi * batch_stride;
        for (int64_t j = 0; j < m; ++j) {
          int64_t idx = tup[j];
          FixIndex(idx, x.dim(b + j));
          off += idx * strides[b + j];
        }
        copy(out->raw(), pos, x.raw(), off, slice);
        pos += slice;
      }
    }
    return Status::Ok();
  }

 private:
  int64_t batch_dims_ = 0;
};

}  // namespace

void Register_gather(KernelRegistry& r) {
  r.Add("", "Gather", Create<GatherKernel>);
  r.Add("", "GatherElements", Create<GatherElementsKernel>);
  r.Add("", "GatherND", Create<GatherNDKernel>);
}

}  // namespace tern::ref
