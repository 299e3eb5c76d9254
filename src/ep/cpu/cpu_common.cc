#include "ep/cpu/cpu_common.h"

#include <algorithm>
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

Status ReadWindowAttr(const KernelInfo& info, const char* name, size_t nd, size_t per_dim,
                      int64_t min, int64_t* dst) {
  const std::vector<int64_t> v = info.GetInts(name);
  if (v.empty()) return Status::Ok();
  if (v.size() != nd * per_dim)
    return NotImplemented(std::string(name) + " has " + std::to_string(v.size()) + " values");
  for (int64_t e : v)
    if (e < min || e > (int64_t{1} << 30))
      return NotImplemented(std::string(name) + " has a value out of range");
  const size_t off = 2 - nd;
  for (size_t p = 0; p < per_dim; ++p)
    for (size_t d = 0; d < nd; ++d) dst[p * 2 + off + d] = v[p * nd + d];
  return Status::Ok();
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

const F32ElementwiseUkernels& ElementwiseUkernels() { return BestF32ElementwiseUkernels(); }

void ParallelRange(ThreadPool* pool, int64_t n, int64_t grain,
                   const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  if (!pool || pool->threads() <= 1 || n < 2 * grain) {
    fn(0, n);
    return;
  }
  // One contiguous piece per thread (the pool splits evenly), never smaller than `grain`.
  const int64_t pieces = std::min<int64_t>(pool->threads(), n / grain);
  auto body = [&](int64_t p0, int64_t p1) { fn(n * p0 / pieces, n * p1 / pieces); };
  pool->ParallelFor(pieces, std::cref(body));
}

Result<std::unique_ptr<OpKernel>> MakeRefKernel(const KernelInfo& info) {
  const ir::Node& n = info.node();
  KernelFactory f = RefKernelRegistry().Find(n.domain, n.op_type, n.opset);
  if (!f) return NotImplemented("no reference kernel for '" + n.op_type + "' to fall back on");
  return f(info);
}

}  // namespace tern::cpu
