#include "ep/ref/fused_util.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>

#include "ep/provider.h"

namespace tern::ref {
namespace {

/// Base kernels are looked up at the newest opset: the fused op's own opset is ai.tern's.
constexpr int kBaseOpset = 1 << 20;
constexpr size_t kMaxInputs = 3;

/// Hands the base kernel's outputs to the real allocator and remembers output 0.
class CaptureAllocator : public OutputAllocator {
 public:
  explicit CaptureAllocator(KernelContext& outer) : outer_(outer) {}
  Result<Tensor*> Allocate(size_t output, DataType type, const Shape& shape) override {
    TERN_ASSIGN_OR_RETURN(Tensor * t, outer_.Output(output, type, shape));
    if (output == 0) out_ = t;
    return t;
  }
  Status Alias(size_t output, size_t input, const Shape& shape) override {
    return outer_.Error(StatusCode::kInternal, "a fused base op cannot alias its input");
  }
  Status Set(size_t output, Value value) override {
    return outer_.Error(StatusCode::kInternal, "a fused base op must allocate its output");
  }
  Tensor* out() const { return out_; }

 private:
  KernelContext& outer_;
  Tensor* out_ = nullptr;
};

}  // namespace

Result<Activation> Activation::Parse(const KernelInfo& info) {
  static const std::map<std::string, std::pair<Kind, size_t>> kKinds = {
      {"Relu", {Kind::kRelu, 0}},
      {"Clip", {Kind::kClip, 2}},
      {"LeakyRelu", {Kind::kLeakyRelu, 1}},
      {"HardSigmoid", {Kind::kHardSigmoid, 2}},
      {"HardSwish", {Kind::kHardSwish, 0}},
      {"Sigmoid", {Kind::kSigmoid, 0}},
      {"Tanh", {Kind::kTanh, 0}}};
  const std::string name = info.GetString("activation", "");
  auto it = kKinds.find(name);
  if (it == kKinds.end())
    return info.Error(StatusCode::kInvalidModel, "unknown activation '" + name + "'");
  const std::vector<float> params = info.GetFloats("activation_params");
  if (params.size() != it->second.second)
    return info.Error(StatusCode::kInvalidModel,
                      "activation " + name + " takes " + std::to_string(it->second.second) +
                          " activation_params, got " + std::to_string(params.size()));
  Activation act;
  act.kind = it->second.first;
  if (!params.empty()) act.a = params[0];
  if (params.size() > 1) act.b = params[1];
  return act;
}

void Activation::Apply(float* data, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) {
    const float x = data[i];
    float y = x;
    switch (kind) {
      case Kind::kRelu:
        y = x > 0 ? x : 0;
        break;
      case Kind::kClip:
        y = std::min(std::max(x, a), b);
        break;
      case Kind::kLeakyRelu:
        y = x >= 0 ? x : a * x;
        break;
      case Kind::kHardSigmoid:
        y = std::max(0.0f, std::min(1.0f, a * x + b));
        break;
      case Kind::kHardSwish:
        y = x * std::max(0.0f, std::min(1.0f, x / 6.0f + 0.5f));
        break;
      case Kind::kSigmoid:
        y = 1.0f / (1.0f + std::exp(-x));
        break;
      case Kind::kTanh:
        y = std::tanh(x);
        break;
    }
    data[i] = y;
  }
}

Status FusedKernel::Init(const KernelInfo& info, const char* base_op) {
  TERN_ASSIGN_OR_RETURN(activation_, Activation::Parse(info));
  KernelFactory f = RefKernelRegistry().Find("", base_op, kBaseOpset);
  if (!f) return info.Error(StatusCode::kInternal, std::string("no reference ") + base_op);
  if (info.num_inputs() > kMaxInputs)
    return info.Error(StatusCode::kInvalidModel, "too many inputs");
  TERN_ASSIGN_OR_RETURN(base_, f(info));
  return Status::Ok();
}

Status FusedKernel::Compute(KernelContext& ctx) const {
  std::array<const Value*, kMaxInputs> inputs{};
  const size_t n = std::min(ctx.num_inputs(), kMaxInputs);
  for (size_t i = 0; i < n; ++i) inputs[i] = ctx.input_value(i);
  CaptureAllocator capture(ctx);
  KernelContext inner(ctx.node(), inputs.data(), n, nullptr, 0, &capture, ctx.thread_pool());
  TERN_RETURN_IF_ERROR(base_->Compute(inner));
  Tensor* y = capture.out();
  if (!y) return ctx.Error(StatusCode::kInternal, "the base op made no output");
  if (y->dtype() != DataType::kFloat32)
    return ctx.Error(
        StatusCode::kInvalidArgument,
        std::string("fused activations take float32, got ") + DataTypeName(y->dtype()));
  activation_.Apply(y->data<float>(), y->numel());
  return Status::Ok();
}

Result<std::unique_ptr<OpKernel>> CreateFused(const KernelInfo& info, const char* base_op) {
  auto k = std::make_unique<FusedKernel>();
  TERN_RETURN_IF_ERROR(k->Init(info, base_op));
  return std::unique_ptr<OpKernel>(std::move(k));
}

}  // namespace tern::ref
