// Variadic elementwise Max, Min, Sum and Mean over one or more inputs with numpy broadcasting.
// Max and Min propagate NaN; float16/bfloat16 accumulate in float and round once.
#include "ep/ref/elem_util.h"

namespace tern::ref {
namespace {

enum class Fold { kMax, kMin, kSum, kMean };

template <Fold Op>
class VariadicKernel : public SimpleKernel {
 public:
  // Max/Min take every numeric type (opset 12+); Sum/Mean are float-only in the spec.
  static constexpr unsigned kTypes = (Op == Fold::kMax || Op == Fold::kMin) ? kNumeric : kFloats;

  Status Compute(KernelContext& ctx) const override {
    const size_t n = ctx.num_inputs();
    if (n == 0) return ctx.Error(StatusCode::kInvalidArgument, "needs at least one input");
    TERN_RETURN_IF_ERROR(CheckTensorInputs(ctx, n));
    const Tensor& first = ctx.input(0);
    if (!TypeInSet(kTypes, first.dtype())) return UnsupportedType(ctx, first.dtype());
    std::vector<const Shape*> shapes;
    for (size_t k = 0; k < n; ++k) {
      TERN_RETURN_IF_ERROR(CheckSameType(ctx, first, ctx.input(k)));
      shapes.push_back(&ctx.input(k).shape());
    }
    auto shape = BroadcastShapes(shapes);
    if (!shape.ok()) return ctx.Error(StatusCode::kInvalidArgument, shape.status().message());
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, first.dtype(), *shape));
    return Visit<kTypes>(first.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = AccT<T>;
      std::vector<const T*> ptrs;
      for (size_t k = 0; k < n; ++k) ptrs.push_back(ctx.input(k).data<T>());
      T* po = out->data<T>();
      BroadcastIterator it(*shape, shapes);
      it.ForEach([&](int64_t i, const int64_t* off) {
        C acc = ToAcc(ptrs[0][off[0]]);
        for (size_t k = 1; k < n; ++k) acc = Combine(acc, ToAcc(ptrs[k][off[k]]));
        if constexpr (Op == Fold::kMean) acc = acc / static_cast<C>(n);
        po[i] = static_cast<T>(acc);
      });
      return Status::Ok();
    });
  }

 private:
  template <typename C>
  static C Combine(C acc, C v) {
    if constexpr (Op == Fold::kSum || Op == Fold::kMean) {
      return acc + v;
    } else {
      if constexpr (kIsFloat<C>) {
        if (std::isnan(acc) || std::isnan(v)) return std::isnan(acc) ? acc : v;
      }
      if constexpr (Op == Fold::kMax) return v > acc ? v : acc;
      return v < acc ? v : acc;
    }
  }
};

}  // namespace

void Register_variadic(KernelRegistry& r) {
  r.Add("", "Max", Create<VariadicKernel<Fold::kMax>>);
  r.Add("", "Min", Create<VariadicKernel<Fold::kMin>>);
  r.Add("", "Sum", Create<VariadicKernel<Fold::kSum>>);
  r.Add("", "Mean", Create<VariadicKernel<Fold::kMean>>);
}

}  // namespace tern::ref
