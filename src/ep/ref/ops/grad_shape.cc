// Gradients that move values around (domain ai.tern):
//   SumTo(dY, X)              dY summed over the dims along which X was broadcast: the gradient of
//                             X in any broadcasting op (Add, Sub, Mul, Div, Gemm's C, MatMul)
//   ConcatGrad(dY, X0..Xn-1; axis)   dY cut back into the pieces Concat joined
//   GlobalAveragePoolGrad(dY, X)     dY spread evenly over each channel's spatial positions
#include <cstring>

#include "ep/ref/grad_util.h"

namespace tern::ref {
namespace {

class SumToKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 2));
    const Tensor& dy = ctx.input(0);
    const Shape& target = ctx.input(1).shape();
    if (dy.shape() == target) return ctx.AliasInput(0, 0, target);
    bool ok = target.rank() <= dy.rank();
    const size_t lead = dy.rank() - target.rank();
    for (size_t d = 0; ok && d < target.rank(); ++d)
      ok = target[d] == dy.dim(lead + d) || target[d] == 1;
    if (!ok)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "cannot reduce " + dy.shape().ToString() + " to " + target.ToString());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, dy.dtype(), target));
    return VisitGradType(ctx, dy.dtype(), [&](auto tag) {
      using T = decltype(tag);
      T* o = out->data<T>();
      std::fill(o, o + out->numel(), T(0));
      const T* g = dy.data<T>();
      BroadcastIterator it(dy.shape(), {&target});
      it.ForEach([&](int64_t i, const int64_t* off) { o[off[0]] += g[i]; });
      return Status::Ok();
    });
  }
};

class ConcatGradKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    axis_ = info.GetInt("axis", 0);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, ctx.num_inputs()));
    const Tensor& dy = ctx.input(0);
    TERN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_, static_cast<int64_t>(dy.rank())));
    const int64_t outer = dy.shape().Product(0, axis);
    const int64_t inner = dy.shape().Product(axis + 1, dy.rank());
    const size_t elem = DataTypeSize(dy.dtype());
    int64_t offset = 0;  // along the axis
    for (size_t i = 1; i < ctx.num_inputs(); ++i) {
      const Shape& xs = ctx.input(i).shape();
      if (xs.rank() != dy.rank() || offset + xs[axis] > dy.dim(axis))
        return ctx.Error(StatusCode::kInvalidArgument, "input " + std::to_string(i) + " " +
                                                           xs.ToString() + " does not fit in dY " +
                                                           dy.shape().ToString());
      const int64_t len = xs[axis];
      if (ctx.output_wanted(i - 1)) {
        TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(i - 1, dy.dtype(), xs));
        const auto* src = static_cast<const uint8_t*>(dy.raw());
        auto* dst = static_cast<uint8_t*>(out->raw());
        const size_t block = static_cast<size_t>(len * inner) * elem;
        for (int64_t o = 0; o < outer; ++o)
          if (block)
            std::memcpy(dst + o * block,
                        src + static_cast<size_t>((o * dy.dim(axis) + offset) * inner) * elem,
                        block);
      }
      offset += len;
    }
    if (offset != dy.dim(axis))
      return ctx.Error(StatusCode::kInvalidArgument, "the inputs do not add up to dY's axis");
    return Status::Ok();
  }

 private:
  int64_t axis_ = 0;
};

class GlobalAveragePoolGradKernel : public SimpleKernel {
 public:
  Status Compute(KernelContext& ctx) const override {
    TERN_RETURN_IF_ERROR(RequireInputs(ctx, 2));
    const Tensor& dy = ctx.input(0);
    const Tensor& x = ctx.input(1);
    if (x.rank() < 2 || dy.numel() != x.dim(0) * x.dim(1))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "dY " + dy.shape().ToString() + " does not match X " + x.shape().ToString());
    const int64_t planes = x.dim(0) * x.dim(1), spatial = x.shape().Product(2, x.rank());
    TERN_ASSIGN_OR_RETURN(Tensor * dx, ctx.Output(0, x.dtype(), x.shape()));
    return VisitGradType(ctx, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (int64_t p = 0; p < planes; ++p) {
        const T v = dy.data<T>()[p] / static_cast<T>(spatial);
        std::fill(dx->data<T>() + p * spatial, dx->data<T>() + (p + 1) * spatial, v);
      }
      return Status::Ok();
    });
  }
};

}  // namespace

void Register_grad_shape(KernelRegistry& r) {
  r.Add(kTernDomain, "SumTo", Create<SumToKernel>);
  r.Add(kTernDomain, "ConcatGrad", Create<ConcatGradKernel>);
  r.Add(kTernDomain, "GlobalAveragePoolGrad", Create<GlobalAveragePoolGradKernel>);
}

}  // namespace tern::ref
