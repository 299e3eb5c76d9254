// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp, ReduceSumSquare.
// Axes are an attribute before opset 13 (ReduceSum) / 18 (the others) and an optional int64
// input from then on. No axes reduces every axis, unless noop_with_empty_axes is set: then the
// reduction is over an empty set of axes, i.e. elementwise (the input itself for sum, mean, max,
// min, prod; x^2 for ReduceSumSquare, |x| for L1/L2, log(x) for ReduceLogSum).
// Reducing an empty set yields the operation's identity (0 for sums and norms, 1 for products,
// -inf/+inf or the type's lowest/highest value for max/min, -inf for the log reductions, NaN for
// the mean of floats).
// Floating-point reductions accumulate in double; integer sums and products wrap around in the
// output type (computed in uint64 so that overflow is well defined).
#include <algorithm>
#include <limits>

#include "ep/ref/reduce_util.h"

namespace tern::ref {
namespace {

enum class RedOp { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

template <RedOp Op>
class ReduceKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    const int axes_input_since = Op == RedOp::kSum ? 13 : 18;
    axes_from_input_ = info.opset() >= axes_input_since;
    if (axes_from_input_) {
      if (info.has_attr("axes"))
        return info.Error(StatusCode::kInvalidModel, "axes is an input from opset " +
                                                         std::to_string(axes_input_since) +
                                                         ", not an attribute");
    } else {
      axes_ = info.GetInts("axes");
    }
    const int64_t keepdims = info.GetInt("keepdims", 1);
    const int64_t noop = info.GetInt("noop_with_empty_axes", 0);
    if ((keepdims != 0 && keepdims != 1) || (noop != 0 && noop != 1))
      return info.Error(StatusCode::kInvalidModel,
                        "keepdims and noop_with_empty_axes must be 0 or 1");
    keepdims_ = keepdims == 1;
    noop_ = noop == 1;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "missing input data");
    const Tensor& x = ctx.input(0);
    std::vector<int64_t> axes = axes_;
    if (axes_from_input_ && ctx.has_input(1)) {
      const Tensor& a = ctx.input(1);
      if (a.rank() > 1)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "axes must be 1-D, got shape " + a.shape().ToString());
      if (a.dtype() != DataType::kInt64)
        return ctx.Error(StatusCode::kInvalidArgument,
                         std::string("axes must be int64, got ") + DataTypeName(a.dtype()));
      TERN_ASSIGN_OR_RETURN(axes, ReadInts(a, "axes"));
    }
    constexpr unsigned kTypes =
        (Op == RedOp::kMax || Op == RedOp::kMin) ? (kNumeric | kBoolType) : kNumeric;
    std::vector<bool> mask(x.rank(), true);
    if (axes.empty() && noop_) {
      // Reduction over an empty set of axes: each output element reduces only its own input
      // element, which is the identity for sum, mean, max, min and prod (a zero-copy view).
      constexpr bool kIdentity = Op == RedOp::kSum || Op == RedOp::kMean || Op == RedOp::kMax ||
                                 Op == RedOp::kMin || Op == RedOp::kProd;
      if constexpr (kIdentity) {
        return Visit<kTypes>(x.dtype(),
                             [&](auto) -> Status { return ctx.AliasInput(0, 0, x.shape()); });
      }
      mask.assign(x.rank(), false);
    } else if (!axes.empty()) {
      auto m = ReduceAxesMask(axes, x.rank());
      if (!m.ok()) return ctx.Error(m.status().code(), m.status().message());
      mask = std::move(m).value();
    }
    const Shape keep_shape = ReducedShape(x.shape(), mask, true);
    const Shape out_shape = keepdims_ ? keep_shape : ReducedShape(x.shape(), mask, false);
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, x.dtype(), out_shape));
    const int64_t out_n = keep_shape.NumElements();
    const int64_t count = out_n == 0 ? 0 : x.numel() / out_n;  // elements per output
    return Visit<kTypes>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      const T* px = x.data<T>();
      T* po = out->data<T>();
      BroadcastIterator it(x.shape(), {&keep_shape});
      if constexpr (Op == RedOp::kMax || Op == RedOp::kMin) {
        MinMax<T>(it, px, po, out_n);
      } else if constexpr (!kIsFloat<T> && (Op == RedOp::kSum || Op == RedOp::kProd ||
                                            Op == RedOp::kL1 || Op == RedOp::kSumSquare)) {
        IntegerAccumulate<T>(it, px, po, out_n);
      } else {
        DoubleAccumulate<T>(it, px, po, out_n, count);
      }
      return Status::Ok();
    });
  }

 private:
  template <typename T>
  static void MinMax(BroadcastIterator& it, const T* px, T* po, int64_t out_n) {
    using C = std::conditional_t<std::is_same_v<T, bool>, uint8_t, AccT<T>>;  // no vector<bool>
    std::vector<C> acc(static_cast<size_t>(out_n));
    C init;
    if constexpr (std::is_same_v<T, bool>) {
      init = Op == RedOp::kMin;
    } else if constexpr (kIsFloat<T>) {
      init = Op == RedOp::kMax ? -std::numeric_limits<C>::infinity()
                               : std::numeric_limits<C>::infinity();
    } else {
      init = Op == RedOp::kMax ? std::numeric_limits<C>::lowest() : std::numeric_limits<C>::max();
    }
    std::fill(acc.begin(), acc.end(), init);
    it.ForEach([&](int64_t i, const int64_t* off) {
      C v = static_cast<C>(px[i]);
      C& a = acc[static_cast<size_t>(off[0])];
      if constexpr (kIsFloat<T>) {
        if (std::isnan(a)) return;  // NaN propagates
        if (std::isnan(v)) {
          a = v;
          return;
        }
      }
      if (Op == RedOp::kMax ? v > a : v < a) a = v;
    });
    for (int64_t k = 0; k < out_n; ++k) po[k] = static_cast<T>(acc[static_cast<size_t>(k)]);
  }

  // Sum, Prod, L1, SumSquare on integers: exact modulo 2^64, then wrapped into T.
  template <typename T>
  static void IntegerAccumulate(BroadcastIterator& it, const T* px, T* po, int64_t out_n) {
    std::vector<uint64_t> acc(static_cast<size_t>(out_n), Op == RedOp::kProd ? 1u : 0u);
    it.ForEach([&](int64_t i, const int64_t* off) {
      const T x = px[i];
      uint64_t v = static_cast<uint64_t>(x);  // two's complement for negative values
      uint64_t& a = acc[static_cast<size_t>(off[0])];
      if constexpr (Op == RedOp::kSum) a += v;
      if constexpr (Op == RedOp::kProd) a *= v;
      if constexpr (Op == RedOp::kSumSquare) a += v * v;
      if constexpr (Op == RedOp::kL1) {
        if constexpr (std::is_signed_v<T>) {
          if (x < 0) v = uint64_t{0} - v;
        }
        a += v;
      }
    });
    for (int64_t k = 0; k < out_n; ++k) po[k] = static_cast<T>(acc[static_cast<size_t>(k)]);
  }

  template <typename T>
  static void DoubleAccumulate(BroadcastIterator& it, const T* px, T* po, int64_t out_n,
                               int64_t count) {
    const size_t n = static_cast<size_t>(out_n);
    std::vector<double> shift;  // LogSumExp: the per-output maximum
    if constexpr (Op == RedOp::kLogSumExp) {
      shift.assign(n, -std::numeric_limits<double>::infinity());
      it.ForEach([&](int64_t i, const int64_t* off) {
        double& m = shift[static_cast<size_t>(off[0])];
        m = std::max(m, ToDouble(px[i]));
      });
      for (double& m : shift)
        if (!std::isfinite(m)) m = 0;  // all -inf or some +inf: no shift needed
    }
    std::vector<double> acc(n, Op == RedOp::kProd ? 1.0 : 0.0);
    it.ForEach([&](int64_t i, const int64_t* off) {
      const size_t k = static_cast<size_t>(off[0]);
      const double v = ToDouble(px[i]);
      double& a = acc[k];
      if constexpr (Op == RedOp::kSum || Op == RedOp::kMean || Op == RedOp::kLogSum) a += v;
      if constexpr (Op == RedOp::kProd) a *= v;
      if constexpr (Op == RedOp::kL1) a += std::fabs(v);
      if constexpr (Op == RedOp::kL2 || Op == RedOp::kSumSquare) a += v * v;
      if constexpr (Op == RedOp::kLogSumExp) a += std::exp(v - shift[k]);
    });
    for (size_t k = 0; k < n; ++k) {
      double r = acc[k];
      if constexpr (Op == RedOp::kMean)
        r = count == 0 ? std::nan("") : r / static_cast<double>(count);
      if constexpr (Op == RedOp::kL2) r = std::sqrt(r);
      if constexpr (Op == RedOp::kLogSum) r = std::log(r);
      if constexpr (Op == RedOp::kLogSumExp) r = shift[k] + std::log(r);
      po[k] = FromDouble<T>(r);
    }
  }

  std::vector<int64_t> axes_;
  bool axes_from_input_ = false;
  bool keepdims_ = true;
  bool noop_ = false;
};

}  // namespace

void Register_reduce(KernelRegistry& r) {
  r.Add("", "ReduceSum", Create<ReduceKernel<RedOp::kSum>>);
  r.Add("", "ReduceMean", Create<ReduceKernel<RedOp::kMean>>);
  r.Add("", "ReduceMax", Create<ReduceKernel<RedOp::kMax>>);
  r.Add("", "ReduceMin", Create<ReduceKernel<RedOp::kMin>>);
  r.Add("", "ReduceProd", Create<ReduceKernel<RedOp::kProd>>);
  r.Add("", "ReduceL1", Create<ReduceKernel<RedOp::kL1>>);
  r.Add("", "ReduceL2", Create<ReduceKernel<RedOp::kL2>>);
  r.Add("", "ReduceLogSum", Create<ReduceKernel<RedOp::kLogSum>>);
  r.Add("", "ReduceLogSumExp", Create<ReduceKernel<RedOp::kLogSumExp>>);
  r.Add("", "ReduceSumSquare", Create<ReduceKernel<RedOp::kSumSquare>>);
}

}  // namespace tern::ref
