// Add, Sub, Mul, Div: numpy-broadcast elementwise arithmetic on every numeric type.
// Integer division truncates toward zero and fails on a zero divisor.
#include "ep/ref/ref_common.h"

namespace tern::ref {
namespace {

enum class ArithOp { kAdd, kSub, kMul, kDiv };

template <ArithOp Op>
class ArithKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    if (info.num_inputs() != 2 || !info.has_input(0) || !info.has_input(1))
      return info.Error(StatusCode::kInvalidModel,
                        "needs 2 inputs, got " + std::to_string(info.num_inputs()));
    if (info.num_outputs() != 1)
      return info.Error(StatusCode::kInvalidModel,
                        "needs 1 output, got " + std::to_string(info.num_outputs()));
    return Status::Ok();
  }
  Status Compute(KernelContext& ctx) const override {
    const Tensor& a = ctx.input(0);
    const Tensor& b = ctx.input(1);
    if (a.dtype() != b.dtype())
      return ctx.Error(StatusCode::kInvalidArgument, std::string("input types differ: ") +
                                                         DataTypeName(a.dtype()) + " and " +
                                                         DataTypeName(b.dtype()));
    TERN_ASSIGN_OR_RETURN(Shape shape, BroadcastShapes({&a.shape(), &b.shape()}));
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, a.dtype(), shape));
    return Visit<kNumeric>(a.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using C = AccT<T>;
      const T* pa = a.data<T>();
      const T* pb = b.data<T>();
      T* po = out->data<T>();
      bool div_by_zero = false;
      BroadcastIterator it(shape, {&a.shape(), &b.shape()});
      it.ForEach([&](int64_t i, const int64_t* off) {
        C x = static_cast<C>(pa[off[0]]);
        C y = static_cast<C>(pb[off[1]]);
        C r{};
        if constexpr (Op == ArithOp::kAdd) r = x + y;
        if constexpr (Op == ArithOp::kSub) r = x - y;
        if constexpr (Op == ArithOp::kMul) r = x * y;
        if constexpr (Op == ArithOp::kDiv) {
          if constexpr (std::is_integral_v<C>) {
            if (y == 0) {
              div_by_zero = true;
              r = 0;
            } else {
              r = x / y;
            }
          } else {
            r = x / y;
          }
        }
        po[i] = static_cast<T>(r);
      });
      if (div_by_zero) return ctx.Error(StatusCode::kInvalidArgument, "integer division by zero");
      return Status::Ok();
    });
  }
};

}  // namespace

void Register_binary_arith(KernelRegistry& r) {
  r.Add("", "Add", Create<ArithKernel<ArithOp::kAdd>>);
  r.Add("", "Sub", Create<ArithKernel<ArithOp::kSub>>);
  r.Add("", "Mul", Create<ArithKernel<ArithOp::kMul>>);
  r.Add("", "Div", Create<ArithKernel<ArithOp::kDiv>>);
}

}  // namespace tern::ref
