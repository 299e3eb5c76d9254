// ScatterElements, Scatter (its old name) and ScatterND: a copy of data with updates written at
// the given indices, optionally combined (reduction add/mul from opset 16, max/min from 18).
// Duplicate indices with reduction "none" keep the last update in row-major order.
#include <algorithm>

#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

enum class Reduction { kNone, kAdd, kMul, kMax, kMin };

Result<Reduction> ParseReduction(const KernelInfo& info) {
  const std::string r = info.GetString("reduction", "none");
  if (r == "none") return Reduction::kNone;
  if (r == "add") return Reduction::kAdd;
  if (r == "mul") return Reduction::kMul;
  if (r == "max") return Reduction::kMax;
  if (r == "min") return Reduction::kMin;
  return info.Error(StatusCode::kInvalidModel, "unknown reduction '" + r + "'");
}

template <typename T>
bool IsNaN(const T& v) {
  if constexpr (kIsFloat<T>) return std::isnan(static_cast<AccT<T>>(v));
  return false;
}

template <typename T>
void Combine(T& dst, const T& src, Reduction red) {
  if constexpr (std::is_same_v<T, std::string>) {
    dst = src;  // strings only allow "none" (checked before)
  } else {
    switch (red) {
      case Reduction::kNone:
        dst = src;
        break;
      case Reduction::kAdd:
        dst = WrapAdd(dst, src);
        break;
      case Reduction::kMul:
        dst = WrapMul(dst, src);
        break;
      // Like numpy.maximum/minimum: a NaN on either side wins.
      case Reduction::kMax:
        if (!IsNaN(dst) && (IsNaN(src) || dst < src)) dst = src;
        break;
      case Reduction::kMin:
        if (!IsNaN(dst) && (IsNaN(src) || src < dst)) dst = src;
        break;
    }
  }
}

/// Copies data to output 0 and checks types; returns the output.
Result<Tensor*> CopyData(KernelContext& ctx, Reduction red) {
  TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
  TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "indices"));
  TERN_RETURN_IF_ERROR(RequireInput(ctx, 2, "updates"));
  const Tensor& x = ctx.input(0);
  if (ctx.input(2).dtype() != x.dtype())
    return ctx.Error(StatusCode::kInvalidArgument, "updates and data types differ");
  if (red != Reduction::kNone && x.dtype() == DataType::kString)
    return ctx.Error(StatusCode::kInvalidArgument, "reductions do not apply to strings");
  TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), x.shape()));
  ElemCopier(x.dtype())(out->raw(), 0, x.raw(), 0, x.numel());
  return out;
}

class ScatterElementsKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", 0);
    TERN_ASSIGN_OR_RETURN(red_, ParseReduction(info));
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "indices"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 2, "updates"));
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    const Tensor& upd = ctx.input(2);
    TERN_RETURN_IF_ERROR(CheckIndexType(ctx, ind, "indices"));
    const int64_t rank = static_cast<int64_t>(x.rank());
    if (rank == 0 || ind.rank() != x.rank() || upd.shape() != ind.shape())
      return ctx.Error(StatusCode::kInvalidArgument,
                       "data, indices and updates must have the same rank >= 1 and indices and "
                       "updates the same shape, got " +
                           x.shape().ToString() + ", " + ind.shape().ToString() + ", " +
                           upd.shape().ToString());
    auto axis_r = NormalizeAxis(axis_, rank);
    if (!axis_r.ok()) return axis_r.status().WithContext(ctx.node().Describe());
    const int64_t axis = *axis_r;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && ind.dim(d) > x.dim(d))
        return ctx.Error(StatusCode::kOutOfRange, "indices shape " + ind.shape().ToString() +
                                                      " exceeds data shape " +
                                                      x.shape().ToString());
    const int64_t dim = x.dim(axis);
    for (int64_t i = 0; i < ind.numel(); ++i) {
      const int64_t idx = IndexAt(ind, i);
      if (idx < -dim || idx >= dim)
        return ctx.Error(StatusCode::kOutOfRange, "index " + std::to_string(idx) +
                                                      " is out of range for an axis of size " +
                                                      std::to_string(dim));
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, CopyData(ctx, red_));
    const std::vector<int64_t> strides = Strides(x.shape());
    return Visit<kAllTypes>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      T* o = out->data<T>();
      const T* u = upd.data<T>();
      ForEachIndex(ind.shape(), [&](int64_t i, const int64_t* c) {
        int64_t idx = IndexAt(ind, i);
        if (idx < 0) idx += dim;
        int64_t off = 0;
        for (int64_t d = 0; d < rank; ++d) off += (d == axis ? idx : c[d]) * strides[d];
        Combine(o[off], u[i], red_);
      });
      return Status::Ok();
    });
  }

 private:
  int64_t axis_ = 0;
  Reduction red_ = Reduction::kNone;
};

class ScatterNDKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_ASSIGN_OR_RETURN(red_, ParseReduction(info));
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 1, "indices"));
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 2, "updates"));
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    const Tensor& upd = ctx.input(2);
    if (ind.dtype() != DataType::kInt64)
      return ctx.Error(StatusCode::kInvalidArgument, "indices must be int64");
    const int64_t r = static_cast<int64_t>(x.rank());
    const int64_t q = static_cast<int64_t>(ind.rank());
    if (r < 1 || q < 1)
      return ctx.Error(StatusCode::kInvalidArgument, "data and indices must have rank >= 1");
    const int64_t k = ind.dim(q - 1);
    if (k < 1 || k > r)
      return ctx.Error(StatusCode::kInvalidArgument, "last indices dimension " + std::to_string(k) +
                                                         " must be in [1, " + std::to_string(r) +
                                                         "]");
    Shape want;
    for (int64_t d = 0; d < q - 1; ++d) want.push_back(ind.dim(d));
    for (int64_t d = k; d < r; ++d) want.push_back(x.dim(d));
    if (upd.shape() != want)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "updates shape " + upd.shape().ToString() + " should be " + want.ToString());
    const int64_t tuples = ind.shape().Product(0, q - 1);
    const int64_t slice = x.shape().Product(k, r);
    const std::vector<int64_t> strides = Strides(x.shape());
    const int64_t* iv = ind.data<int64_t>();
    std::vector<int64_t> offsets(static_cast<size_t>(tuples));
    for (int64_t t = 0; t < tuples; ++t) {
      int64_t off = 0;
      for (int64_t j = 0; j < k; ++j) {
        int64_t idx = iv[t * k + j];
        const int64_t dim = x.dim(j);
        if (idx < -dim || idx >= dim)
          return ctx.Error(StatusCode::kOutOfRange, "index " + std::to_string(idx) +
                                                        " is out of range for an axis of size " +
                                                        std::to_string(dim));
        if (idx < 0) idx += dim;
        off += idx * strides[j];
      }
      offsets[t] = off;
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, CopyData(ctx, red_));
    return Visit<kAllTypes>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      T* o = out->data<T>();
      const T* u = upd.data<T>();
      for (int64_t t = 0; t < tuples; ++t)
        for (int64_t e = 0; e < slice; ++e) Combine(o[offsets[t] + e], u[t * slice + e], red_);
      return Status::Ok();
    });
  }

 private:
  Reduction red_ = Reduction::kNone;
};

}  // namespace

void Register_scatter(KernelRegistry& r) {
  r.Add("", "ScatterElements", Create<ScatterElementsKernel>);
  r.Add("", "Scatter", Create<ScatterElementsKernel>);
  r.Add("", "ScatterND", Create<ScatterNDKernel>);
}

}  // namespace tern::ref
