// Shape (start/end from opset 15), Size, ConstantOfShape, Range and EyeLike: ops that make
// tensors from shapes and scalars.
#include <cmath>

#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

constexpr int64_t kMaxGenerated = int64_t{1} << 40;  ///< elements Range may make

class ShapeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    start_ = info.GetInt("start", 0);
    has_end_ = info.has_attr("end");
    end_ = info.GetInt("end", 0);
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    const Shape& s = ctx.input(0).shape();
    const int64_t r = static_cast<int64_t>(s.rank());
    auto fix = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
    const int64_t b = fix(start_);
    const int64_t e = has_end_ ? fix(end_) : r;
    const int64_t n = std::max<int64_t>(e - b, 0);
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kInt64, Shape{n}));
    for (int64_t i = 0; i < n; ++i) out->data<int64_t>()[i] = s[b + i];
    return Status::Ok();
  }

 private:
  int64_t start_ = 0, end_ = 0;
  bool has_end_ = false;
};

class SizeKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "data"));
    const int64_t n = ctx.input(0).numel();
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kInt64, Shape{}));
    out->data<int64_t>()[0] = n;
    return Status::Ok();
  }
};

class ConstantOfShapeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    if (const Tensor* v = info.GetTensor("value")) {
      if (v->numel() != 1)
        return info.Error(StatusCode::kInvalidModel, "value must have exactly one element");
      value_ = *v;
    } else {
      value_ = Tensor::FromVector(DataType::kFloat32, Shape{1}, std::vector<float>{0.f});
    }
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_ASSIGN_OR_RETURN(std::vector<int64_t> dims, ReadIntInput(ctx, 0, "input"));
    for (int64_t d : dims)
      if (d < 0)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "negative dimension " + std::to_string(d) + " in shape");
    {
      auto n = CheckedNumElements(dims, "ConstantOfShape output");
      if (!n.ok()) return n.status().WithContext(ctx.node().Describe());
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, value_.dtype(), Shape(dims)));
    ElemCopier copy(value_.dtype());
    for (int64_t i = 0; i < out->numel(); ++i) copy(out->raw(), i, value_.raw(), 0);
    return Status::Ok();
  }

 private:
  Tensor value_;
};

class RangeKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    for (size_t i = 0; i < 3; ++i) {
      TERN_RETURN_IF_ERROR(RequireInput(ctx, i, i == 0 ? "start" : i == 1 ? "limit" : "delta"));
      if (ctx.input(i).numel() != 1)
        return ctx.Error(StatusCode::kInvalidArgument, "start, limit and delta must be scalars");
      if (ctx.input(i).dtype() != ctx.input(0).dtype())
        return ctx.Error(StatusCode::kInvalidArgument, "start, limit and delta types differ");
    }
    return Visit<kNumeric>(ctx.input(0).dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = AccT<T>;
      const C start = static_cast<C>(ctx.input(0).data<T>()[0]);
      const C limit = static_cast<C>(ctx.input(1).data<T>()[0]);
      const C delta = static_cast<C>(ctx.input(2).data<T>()[0]);
      if (delta == C(0)) return ctx.Error(StatusCode::kInvalidArgument, "delta cannot be 0");
      int64_t n = 0;
      if constexpr (std::is_integral_v<C>) {
        // Unsigned differences avoid overflow at the ends of the type's range.
        if (delta > 0 && limit > start) {
          const uint64_t diff = static_cast<uint64_t>(limit) - static_cast<uint64_t>(start);
          const uint64_t q = (diff - 1) / static_cast<uint64_t>(delta) + 1;
          if (q > static_cast<uint64_t>(kMaxGenerated))
            return ctx.Error(StatusCode::kResourceExhausted, "Range output is too large");
          n = static_cast<int64_t>(q);
        } else if constexpr (std::is_signed_v<C>) {
          if (delta < 0 && limit < start) {
            const uint64_t diff = static_cast<uint64_t>(start) - static_cast<uint64_t>(limit);
            const uint64_t mag = uint64_t{0} - static_cast<uint64_t>(delta);
            const uint64_t q = (diff - 1) / mag + 1;
            if (q > static_cast<uint64_t>(kMaxGenerated))
              return ctx.Error(StatusCode::kResourceExhausted, "Range output is too large");
            n = static_cast<int64_t>(q);
          }
        }
      } else {
        const double q = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) /
                                   static_cast<double>(delta));
        if (std::isnan(q) || q > static_cast<double>(kMaxGenerated))
          return ctx.Error(StatusCode::kInvalidArgument, "Range has no finite element count");
        n = q > 0 ? static_cast<int64_t>(q) : 0;
      }
      TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataTypeOf<T>(), Shape{n}));
      T* o = out->data<T>();
      if constexpr (std::is_integral_v<C>) {
        // Modular arithmetic gives the exact value, which lies between start and limit.
        for (int64_t i = 0; i < n; ++i)
          o[i] = static_cast<T>(static_cast<uint64_t>(start) +
                                static_cast<uint64_t>(i) * static_cast<uint64_t>(delta));
      } else {
        C v = start;  // accumulated like the op's function body: prev + delta
        for (int64_t i = 0; i < n; ++i) {
          o[i] = static_cast<T>(v);
          v = static_cast<C>(static_cast<T>(v + delta));
        }
      }
      return Status::Ok();
    });
  }
};

class EyeLikeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    k_ = info.GetInt("k", 0);
    if (info.has_attr("dtype")) {
      const int64_t dt = info.GetInt("dtype", 1);
      if (dt < 0 || dt > 64 || !IsValidDataType(static_cast<int32_t>(dt)))
        return info.Error(StatusCode::kInvalidModel, "invalid dtype " + std::to_string(dt));
      dtype_ = static_cast<DataType>(dt);
    }
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInput(ctx, 0, "input"));
    const Tensor& x = ctx.input(0);
    if (x.rank() != 2)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "input must be 2-D, got " + x.shape().ToString());
    const DataType dt = dtype_ == DataType::kUndefined ? x.dtype() : dtype_;
    return Visit<kNumeric | kBoolType>(dt, [&](auto tag) -> Status {
      using T = decltype(tag);
      TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, dt, x.shape()));
      T* o = out->data<T>();
      const int64_t rows = x.dim(0), cols = x.dim(1);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          o[r * cols + c] = static_cast<T>(static_cast<AccT<T>>(c - r == k_ ? 1 : 0));
      return Status::Ok();
    });
  }

 private:
  int64_t k_ = 0;
  DataType dtype_ = DataType::kUndefined;
};

}  // namespace

void Register_shape_ops(KernelRegistry& r) {
  r.Add("", "Shape", Create<ShapeKernel>);
  r.Add("", "Size", Create<SizeKernel>);
  r.Add("", "ConstantOfShape", Create<ConstantOfShapeKernel>);
  r.Add("", "Range", Create<RangeKernel>);
  r.Add("", "EyeLike", Create<EyeLikeKernel>);
}

}  // namespace tern::ref
