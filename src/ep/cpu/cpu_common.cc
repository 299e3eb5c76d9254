#include "ep/cpu/cpu_common.h"

#include <vector>

namespace tern::cpu {

Status RequireFloat32(const KernelInfo& info, size_t input, const char* what) {
  DataType t = DataType::kUndefined;
  if (const Tensor* c = info.constant_input(input))
    t = c->dtype();
  else if (info.input_type(input).kind == ir::TypeInfo::Kind::kTensor)
    t = info.input_type(input).elem;
  if (t == DataType::kFloat32) return Status::Ok();
  if (t == DataType::kUndefined)
    return NotImplemented(std::string(what) + "'s element type is not known at load");
  return NotImplemented(std::string(what) + " is " + DataTypeName(t) +
                        ", only float32 runs on cpu");
}

Status ParseFusedActivation(const KernelInfo& info, Epilogue* e) {
  e->act = Activation::kNone;
  if (!info.has_attr("activation")) return Status::Ok();
  const std::string name = info.GetString("activation", "");
  const std::vector<float> params = info.GetFloats("activation_params");
  auto need = [&](size_t n) -> Status {
    if (params.size() >= n) return Status::Ok();
    return NotImplemented("activation " + name + " needs " + std::to_string(n) +
                          " activation_params, got " + std::to_string(params.size()));
  };
  if (name == "Relu") {
    e->act = Activation::kRelu;
  } else if (name == "Clip") {
    TERN_RETURN_IF_ERROR(need(2));
    e->act = Activation::kClip;
    e->alpha = params[0];
    e->beta = params[1];
  } else if (name == "LeakyRelu") {
    e->act = Activation::kLeakyRelu;
    e->alpha = params.empty() ? 0.01f : params[0];
  } else if (name == "HardSigmoid") {
    e->act = Activation::kHardSigmoid;
    e->alpha = params.size() > 0 ? params[0] : 0.2f;
    e->beta = params.size() > 1 ? params[1] : 0.5f;
  } else if (name == "HardSwish") {
    e->act = Activation::kHardSwish;
  } else if (name == "Sigmoid") {
    e->act = Activation::kSigmoid;
  } else if (name == "Tanh") {
    e->act = Activation::kTanh;
  } else {
    return NotImplemented("fused activation '" + name + "' is not supported");
  }
  return Status::Ok();
}

const F32GemmUkernelInfo& GemmUkernel() { return BestF32GemmUkernel(); }

}  // namespace tern::cpu
