// BatchNormalization in inference mode on float32: y = x * a[c] + b[c] with
// a = scale / sqrt(var + epsilon) and b = bias - mean * a, made once at load when the four
// parameters are initializers (per run otherwise), then one affine microkernel call per channel
// plane. Training mode and the statistics outputs stay on ref.
#include <cmath>
#include <string>
#include <vector>

#include "ep/cpu/cpu_common.h"

namespace tern::cpu {
namespace {

class BatchNormKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(RequireFloat32(info, 0, "X"));
    if (info.opset() >= 14 && info.GetInt("training_mode", 0) != 0)
      return NotImplemented("training_mode runs on ref");
    for (size_t o = 1; o < info.num_outputs(); ++o)
      if (info.has_output(o)) return NotImplemented("the statistics outputs run on ref");
    if (info.opset() < 9 && info.has_attr("spatial") && info.GetInt("spatial", 1) == 0)
      return NotImplemented("spatial=0 runs on ref");
    epsilon_ = info.GetFloat("epsilon", 1e-5f);
    const Tensor* p[4];
    for (size_t i = 0; i < 4; ++i) {
      if (!info.has_input(i + 1)) return NotImplemented("a parameter input is missing");
      p[i] = info.constant_input(i + 1);
      if (!p[i]) return Status::Ok();  // folded per run
    }
    const Tensor* params[4] = {p[0], p[1], p[2], p[3]};
    Status st = Fold(params, &scale_, &shift_);
    if (!st.ok()) return NotImplemented(st.message());
    folded_ = true;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& x = ctx.input(0);
    if (x.dtype() != DataType::kFloat32 || x.rank() < 2)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must be float32 of rank >= 2, got " + x.shape().ToString());
    std::vector<float> run_scale, run_shift;
    const std::vector<float>* scale = &scale_;
    const std::vector<float>* shift = &shift_;
    if (!folded_) {
      const Tensor* params[4];
      for (size_t i = 0; i < 4; ++i) params[i] = &ctx.input(i + 1);
      Status st = Fold(params, &run_scale, &run_shift);
      if (!st.ok()) return ctx.Error(StatusCode::kInvalidArgument, st.message());
      scale = &run_scale;
      shift = &run_shift;
    }
    const int64_t c = x.dim(1);
    if (static_cast<int64_t>(scale->size()) != c)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "parameters have " + std::to_string(scale->size()) + " values, X has " +
                           std::to_string(c) + " channels");
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, DataType::kFloat32, x.shape()));
    const int64_t plane = x.shape().Product(2, x.rank());
    const float* px = x.data<float>();
    float* py = y->data<float>();
    const F32VAffineUkernel affine = ElementwiseUkernels().affine;
    auto body = [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const size_t ch = static_cast<size_t>(p % c);
        affine(static_cast<size_t>(plane), px + p * plane, (*scale)[ch], (*shift)[ch],
               py + p * plane);
      }
    };
    ParallelRange(ctx.thread_pool(), x.dim(0) * c,
                  std::max<int64_t>(1, (1 << 14) / std::max<int64_t>(plane, 1)), std::cref(body));
    return Status::Ok();
  }

 private:
  // scale, bias, mean, var -> per-channel a and b (in double, then rounded once).
  Status Fold(const Tensor* const* p, std::vector<float>* a, std::vector<float>* b) const {
    const int64_t c = p[0]->numel();
    for (size_t i = 0; i < 4; ++i)
      if (p[i]->dtype() != DataType::kFloat32 || p[i]->rank() != 1 || p[i]->numel() != c)
        return InvalidArgument("scale, B, mean and var must be float32 vectors of one size");
    a->resize(static_cast<size_t>(c));
    b->resize(static_cast<size_t>(c));
    for (int64_t i = 0; i < c; ++i) {
      const double s = double(p[0]->data<float>()[i]) /
                       std::sqrt(double(p[3]->data<float>()[i]) + double(epsilon_));
      (*a)[i] = static_cast<float>(s);
      (*b)[i] =
          static_cast<float>(double(p[1]->data<float>()[i]) - double(p[2]->data<float>()[i]) * s);
    }
    return Status::Ok();
  }

  float epsilon_ = 1e-5f;
  bool folded_ = false;
  std::vector<float> scale_, shift_;
};

}  // namespace

void Register_batch_norm(KernelRegistry& r) {
  r.Add("", "BatchNormalization", Create<BatchNormKernel>);
}

}  // namespace tern::cpu
