#include "ep/cpu/cpu_provider.h"

#include <string>

namespace tern {
namespace {

class CpuProvider : public ExecutionProvider {
 public:
  const char* name() const override { return "cpu"; }
  Result<std::unique_ptr<OpKernel>> CreateKernel(const KernelInfo& info) const override {
    const ir::Node& n = info.node();
    const KernelRegistry& reg = CpuKernelRegistry();
    KernelFactory f = reg.Find(n.domain, n.op_type, n.opset);
    if (!f) {
      const std::string dom = n.domain.empty() ? "ai.onnx" : n.domain;
      if (reg.Knows(n.domain, n.op_type))
        return NotImplemented("no cpu kernel for '" + n.op_type + "' at " + dom + " opset " +
                              std::to_string(n.opset));
      return NotImplemented("no cpu kernel for op '" + n.op_type + "'");
    }
    return f(info);
  }
};

}  // namespace

std::shared_ptr<ExecutionProvider> MakeCpuProvider() { return std::make_shared<CpuProvider>(); }

}  // namespace tern
