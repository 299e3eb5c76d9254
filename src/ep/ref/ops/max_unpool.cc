// MaxUnpool: scatters X into a zero tensor at the flat positions given by I (as MaxPool's
// Indices output), with the output shape from the optional output_shape input or from
// kernel_shape/strides/pads.
#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

class MaxUnpoolKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(nn::ParseWindowAttrs(info, false, &attrs_));
    if (attrs_.kernel_shape.empty())
      return info.Error(StatusCode::kInvalidModel, "kernel_shape is required");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.has_input(1))
      return ctx.Error(StatusCode::kInvalidArgument, "MaxUnpool needs inputs X and I");
    const Tensor& x = ctx.input(0);
    const Tensor& ind = ctx.input(1);
    if (x.rank() < 3) return ctx.Error(StatusCode::kInvalidArgument, "X must have rank >= 3");
    if (ind.dtype() != DataType::kInt64 || ind.shape() != x.shape())
      return ctx.Error(StatusCode::kInvalidArgument,
                       "I must be int64 with X's shape " + x.shape().ToString());
    const size_t nd = x.rank() - 2;
    if (attrs_.kernel_shape.size() != nd)
      return ctx.Error(StatusCode::kInvalidArgument, "kernel_shape does not match X's rank");
    // The indices are flat positions in the inferred output shape; an explicit output_shape
    // places the same spatial coordinates into a (possibly larger) output.
    Shape inferred{x.dim(0), x.dim(1)};
    if ((!attrs_.strides.empty() && attrs_.strides.size() != nd) ||
        (!attrs_.pads.empty() && attrs_.pads.size() != 2 * nd))
      return ctx.Error(StatusCode::kInvalidArgument, "strides/pads do not match X's rank");
    for (size_t i = 0; i < nd; ++i) {
      const int64_t s = attrs_.strides.empty() ? 1 : attrs_.strides[i];
      const int64_t pb = attrs_.pads.empty() ? 0 : attrs_.pads[i];
      const int64_t pe = attrs_.pads.empty() ? 0 : attrs_.pads[nd + i];
      if (s > (int64_t{1} << 32) || x.dim(2 + i) > (int64_t{1} << 32) ||
          attrs_.kernel_shape[i] > (int64_t{1} << 32))
        return ctx.Error(StatusCode::kInvalidArgument, "stride or kernel too large");
      const int64_t o = (x.dim(2 + i) - 1) * s + attrs_.kernel_shape[i] - pb - pe;
      if (o < 0) return ctx.Error(StatusCode::kInvalidArgument, "negative output dim");
      inferred.push_back(o);
    }
    Shape out_shape = inferred;
    if (ctx.has_input(2)) {
      auto os = ReadInts(ctx.input(2), "output_shape");
      if (!os.ok()) return ctx.Error(StatusCode::kInvalidArgument, os.status().message());
      if (os->size() != x.rank())
        return ctx.Error(StatusCode::kInvalidArgument, "output_shape must have X's rank");
      for (int64_t d : *os)
        if (d < 0) return ctx.Error(StatusCode::kInvalidArgument, "negative output_shape");
      out_shape = Shape(*os);
    }
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), out_shape));
    const int64_t total = y->numel();
    TERN_ASSIGN_OR_RETURN(int64_t inferred_total, nn::CheckedProduct(inferred.ToVector()));
    const int64_t* pi = ind.data<int64_t>();
    std::vector<int64_t> dest(static_cast<size_t>(ind.numel()));
    const bool remap = out_shape != inferred;
    for (int64_t i = 0; i < ind.numel(); ++i) {
      int64_t idx = pi[i];
      bool ok = idx >= 0 && idx < (remap ? inferred_total : total);
      if (ok && remap) {
        int64_t rest = idx, lin = 0, mul = 1;
        for (size_t d = x.rank(); d-- > 0;) {
          const int64_t c = inferred[d] > 0 ? rest % inferred[d] : 0;
          rest = inferred[d] > 0 ? rest / inferred[d] : 0;
          if (c >= out_shape[d]) ok = false;
          lin += c * mul;
          mul *= out_shape[d];
        }
        idx = lin;
      }
      if (!ok)
        return ctx.Error(StatusCode::kOutOfRange, "index " + std::to_string(pi[i]) +
                                                      " is out of range for output " +
                                                      out_shape.ToString());
      dest[i] = idx;
    }
    return Visit<kNumeric>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      T* py = y->data<T>();
      for (int64_t i = 0; i < total; ++i) py[i] = T{};
      for (int64_t i = 0; i < x.numel(); ++i) py[dest[i]] = x.data<T>()[i];
      return Status::Ok();
    });
  }

 private:
  nn::WindowAttrs attrs_;
};

}  // namespace

void Register_max_unpool(KernelRegistry& r) { r.Add("", "MaxUnpool", Create<MaxUnpoolKernel>); }

}  // namespace tern::ref
