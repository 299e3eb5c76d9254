// Pow on the cpu provider for the form audio front ends use: a float32 base and a constant scalar
// exponent (power spectra square STFT outputs). Exponent 2 is x*x and 1 a copy; any other scalar
// calls std::pow in double per element, as the reference does. Every other form (broadcast or
// run-time exponents, other types) falls back to ref; the general elementwise kernels belong with
// the other binary ops. The square of a float is exact in double, so x*x rounds exactly as the
// reference's pow does and results match it bit for bit.
#include <cmath>
#include <cstring>

#include "ep/cpu/cpu_common.h"

namespace tern::cpu {
namespace {

class PowKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "X"));
    const Tensor* y = info.constant_input(1);
    if (!y || y->numel() != 1) return NotImplemented("the exponent is not a constant scalar");
    if (y->dtype() == DataType::kFloat32)
      exponent_ = y->data<float>()[0];
    else if (y->dtype() == DataType::kFloat64)
      exponent_ = y->data<double>()[0];
    else if (y->dtype() == DataType::kInt64)
      exponent_ = static_cast<double>(y->data<int64_t>()[0]);
    else if (y->dtype() == DataType::kInt32)
      exponent_ = y->data<int32_t>()[0];
    else
      return NotImplemented(std::string("exponent of type ") + DataTypeName(y->dtype()));
    // A scalar of rank > 0 broadcasts the output up to its rank.
    exponent_rank_ = y->rank();
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DataType::kFloat32)
      return ctx.Error(StatusCode::kInvalidArgument, "X must be float32");
    Shape shape = x.shape();
    while (shape.rank() < exponent_rank_) {  // prepend 1s, as broadcasting does
      Shape wider;
      wider.push_back(1);
      for (int64_t d : shape) wider.push_back(d);
      shape = wider;
    }
    TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kFloat32, shape));
    const float* in = x.data<float>();
    float* o = out->data<float>();
    const int64_t n = x.numel();
    if (exponent_ == 2.0) {
      for (int64_t i = 0; i < n; ++i) o[i] = in[i] * in[i];
    } else if (exponent_ == 1.0) {
      if (n) std::memcpy(o, in, static_cast<size_t>(n) * sizeof(float));
    } else {
      for (int64_t i = 0; i < n; ++i)
        o[i] = static_cast<float>(std::pow(static_cast<double>(in[i]), exponent_));
    }
    return Status::Ok();
  }

 private:
  double exponent_ = 1;
  size_t exponent_rank_ = 0;
};

}  // namespace

void Register_pow(KernelRegistry& r) { r.Add("", "Pow", Create<PowKernel>); }

}  // namespace tern::cpu
