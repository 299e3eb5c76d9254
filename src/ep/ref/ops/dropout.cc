// Dropout. Inference (and ratio 0): the output is the input and the mask is all ones (bool from
// opset 10, the input type before). Training mode (opset 12+ training_mode input) with a nonzero
// ratio draws a random mask (seeded by the seed attribute) and scales kept values by 1/(1-ratio).
#include <random>

#include "ep/ref/nn_util.h"

namespace tern::ref {
namespace {

class DropoutKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    ratio_ = info.GetFloat("ratio", 0.5f);
    has_seed_ = info.has_attr("seed");
    seed_ = info.GetInt("seed", 0);
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "missing input data");
    const Tensor& x = ctx.input(0);
    if (!IsFloatType(x.dtype()))
      return ctx.Error(StatusCode::kNotImplemented,
                       std::string("type ") + DataTypeName(x.dtype()) + " is not supported");
    double ratio = ratio_;
    bool training = false;
    if (ctx.opset() >= 12) {
      ratio = 0.5;
      if (ctx.has_input(1)) {
        const Tensor& r = ctx.input(1);
        if (r.numel() != 1 || !IsFloatType(r.dtype()))
          return ctx.Error(StatusCode::kInvalidArgument, "ratio must be a float scalar");
        ratio = ReadAsDouble(r, 0);
      }
      if (ctx.has_input(2)) {
        const Tensor& t = ctx.input(2);
        if (t.numel() != 1 || t.dtype() != DataType::kBool)
          return ctx.Error(StatusCode::kInvalidArgument, "training_mode must be a bool scalar");
        training = t.data<bool>()[0];
      }
    }
    if (training && !(ratio >= 0.0 && ratio < 1.0))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "ratio " + std::to_string(ratio) + " must be in [0, 1)");
    const bool identity = !training || ratio == 0.0;
    const DataType mask_type = ctx.opset() >= 10 ? DataType::kBool : x.dtype();
    Tensor* mask = nullptr;
    if (ctx.output_wanted(1)) {
      TERN_ASSIGN_OR_RETURN(mask, ctx.Output(1, mask_type, x.shape()));
    }
    if (identity) {
      if (mask) SetMask(mask, [](int64_t) { return true; });
      return ctx.AliasInput(0, 0, x.shape());
    }
    std::vector<uint8_t> keep(static_cast<size_t>(x.numel()));
    std::mt19937_64 rng(has_seed_ ? static_cast<uint64_t>(seed_) : std::random_device{}());
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    for (auto& k : keep) k = dist(rng) >= ratio ? 1 : 0;
    TERN_ASSIGN_OR_RETURN(Tensor * y, ctx.Output(0, x.dtype(), x.shape()));
    const double scale = 1.0 / (1.0 - ratio);
    if (mask) SetMask(mask, [&](int64_t i) { return keep[i] != 0; });
    return Visit<kFloats>(x.dtype(), [&](auto tag) -> Status {
      using T = decltype(tag);
      using A = AccT<T>;
      for (int64_t i = 0; i < x.numel(); ++i)
        y->data<T>()[i] = static_cast<T>(
            keep[i] ? static_cast<A>(static_cast<A>(x.data<T>()[i]) * static_cast<A>(scale))
                    : A(0));
      return Status::Ok();
    });
  }

 private:
  template <typename Fn>
  static void SetMask(Tensor* mask, Fn&& keep) {
    (void)Visit<kFloats | kBoolType>(mask->dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (int64_t i = 0; i < mask->numel(); ++i)
        mask->data<T>()[i] = keep(i) ? static_cast<T>(1.0f) : static_cast<T>(0.0f);
      return Status::Ok();
    });
  }

  float ratio_ = 0.5f;
  bool has_seed_ = false;
  int64_t seed_ = 0;
};

}  // namespace

void Register_dropout(KernelRegistry& r) { r.Add("", "Dropout", Create<DropoutKernel>); }

}  // namespace tern::ref
