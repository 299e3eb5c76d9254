// Reshape, Flatten, Squeeze, Unsqueeze: views of the input with a new shape (no copy when the
// memory plan allows). Every dtype is accepted since the elements are not touched.
#include "ep/ref/shape_util.h"

namespace tern::ref {
namespace {

Status CheckTensorInput(const KernelContext& ctx) { return RequireInput(ctx, 0, "data"); }

class ReshapeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    allowzero_ = info.GetInt("allowzero", 0) != 0;
    if (info.opset() < 5) {
      attr_shape_ = info.GetInts("shape");
      use_attr_ = true;
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInput(ctx));
    const Shape& in = ctx.input(0).shape();
    std::vector<int64_t> target;
    if (use_attr_) {
      target = attr_shape_;
    } else {
      TERN_ASSIGN_OR_RETURN(target, ReadIntInput(ctx, 1, "shape"));
    }
    int infer = -1;
    bool has_zero = false;
    int64_t known = 1;
    for (size_t i = 0; i < target.size(); ++i) {
      int64_t d = target[i];
      if (d == -1) {
        if (infer >= 0)
          return ctx.Error(StatusCode::kInvalidArgument, "shape has more than one -1");
        infer = static_cast<int>(i);
        continue;
      }
      if (d < -1)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "invalid dimension " + std::to_string(d) + " in shape");
      if (d == 0) {
        has_zero = true;
        if (!allowzero_) {
          if (i >= in.rank())
            return ctx.Error(StatusCode::kInvalidArgument,
                             "shape has 0 at index " + std::to_string(i) +
                                 " beyond the input rank " + std::to_string(in.rank()));
          d = in[i];
          target[i] = d;
        }
      }
      auto k = CheckedMul(known, d, "Reshape");
      if (!k.ok()) return k.status().WithContext(ctx.node().Describe());
      known = *k;
    }
    if (allowzero_ && has_zero && infer >= 0)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "shape with allowzero=1 cannot contain both 0 and -1");
    const int64_t total = in.NumElements();
    if (infer >= 0) {
      if (known == 0 || total % known != 0)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "cannot infer the -1 dimension reshaping " + in.ToString());
      target[infer] = total / known;
    } else if (known != total) {
      Shape s(target);
      return ctx.Error(StatusCode::kInvalidArgument,
                       "cannot reshape " + in.ToString() + " to " + s.ToString());
    }
    return ctx.AliasInput(0, 0, Shape(target));
  }

 private:
  bool allowzero_ = false;
  bool use_attr_ = false;
  std::vector<int64_t> attr_shape_;
};

class FlattenKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", 1);
    if (info.opset() < 11 && axis_ < 0)
      return info.Error(StatusCode::kInvalidModel, "negative axis needs opset 11");
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInput(ctx));
    const Shape& in = ctx.input(0).shape();
    const int64_t rank = static_cast<int64_t>(in.rank());
    if (axis_ < -rank || axis_ > rank)
      return ctx.Error(
          StatusCode::kOutOfRange,
          "axis " + std::to_string(axis_) + " is out of range for rank " + std::to_string(rank));
    size_t axis = static_cast<size_t>(axis_ < 0 ? axis_ + rank : axis_);
    return ctx.AliasInput(0, 0, Shape{in.Product(0, axis), in.Product(axis, in.rank())});
  }

 private:
  int64_t axis_ = 1;
};

/// Squeeze and Unsqueeze: axes from the attribute before opset 13, from input 1 after.
template <bool kUnsqueeze>
class SqueezeKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    from_input_ = info.opset() >= 13;
    if (!from_input_) {
      attr_axes_ = info.GetInts("axes");
      has_axes_ = info.has_attr("axes");
    }
    if (kUnsqueeze && !from_input_ && !has_axes_)
      return info.Error(StatusCode::kInvalidModel, "Unsqueeze needs the axes attribute");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(CheckTensorInput(ctx));
    const Shape& in = ctx.input(0).shape();
    std::vector<int64_t> axes = attr_axes_;
    bool has_axes = has_axes_;
    if (from_input_ && ctx.has_input(1)) {
      TERN_ASSIGN_OR_RETURN(axes, ReadIntInput(ctx, 1, "axes"));
      has_axes = true;
    }
    if (kUnsqueeze && !has_axes)
      return ctx.Error(StatusCode::kInvalidArgument, "Unsqueeze needs axes");
    const int64_t rank = static_cast<int64_t>(in.rank());
    if constexpr (kUnsqueeze) {
      const int64_t out_rank = rank + static_cast<int64_t>(axes.size());
      auto norm = NormalizeAxes(axes, out_rank);
      if (!norm.ok()) return norm.status().WithContext(ctx.node().Describe());
      std::vector<bool> is_new(static_cast<size_t>(out_rank), false);
      for (int64_t a : *norm) is_new[a] = true;
      Shape out;
      size_t k = 0;
      for (int64_t i = 0; i < out_rank; ++i) out.push_back(is_new[i] ? 1 : in[k++]);
      return ctx.AliasInput(0, 0, out);
    } else {
      std::vector<bool> drop(static_cast<size_t>(rank), false);
      if (has_axes) {
        auto norm = NormalizeAxes(axes, rank);
        if (!norm.ok()) return norm.status().WithContext(ctx.node().Describe());
        for (int64_t a : *norm) {
          if (in[a] != 1)
            return ctx.Error(StatusCode::kInvalidArgument,
                             "cannot squeeze axis " + std::to_string(a) + " of shape " +
                                 in.ToString() + ": its size is not 1");
          drop[a] = true;
        }
      } else {
        for (int64_t i = 0; i < rank; ++i) drop[i] = in[i] == 1;
      }
      Shape out;
      for (int64_t i = 0; i < rank; ++i)
        if (!drop[i]) out.push_back(in[i]);
      return ctx.AliasInput(0, 0, out);
    }
  }

 private:
  bool from_input_ = false;
  bool has_axes_ = false;
  std::vector<int64_t> attr_axes_;
};

}  // namespace

void Register_reshape(KernelRegistry& r) {
  r.Add("", "Reshape", Create<ReshapeKernel>);
  r.Add("", "Flatten", Create<FlattenKernel>);
  r.Add("", "Squeeze", Create<SqueezeKernel<false>>);
  r.Add("", "Unsqueeze", Create<SqueezeKernel<true>>);
}

}  // namespace tern::ref
