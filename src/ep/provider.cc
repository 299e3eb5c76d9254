#include "ep/provider.h"

#include "ep/cpu/cpu_provider.h"

namespace tern {

void KernelRegistry::Add(const char* domain, const char* op_type, KernelFactory factory,
                         int since_version) {
  auto& list = table_[{domain, op_type}];
  list.emplace_back(since_version, factory);
}

KernelFactory KernelRegistry::Find(const std::string& domain, const std::string& op_type,
                                   int opset) const {
  auto it = table_.find({domain, op_type});
  if (it == table_.end()) return nullptr;
  KernelFactory best = nullptr;
  int best_since = -1;
  for (const auto& [since, f] : it->second)
    if (since <= opset && since > best_since) {
      best = f;
      best_since = since;
    }
  return best;
}

bool KernelRegistry::Knows(const std::string& domain, const std::string& op_type) const {
  return table_.count({domain, op_type}) > 0;
}

namespace {

class RefProvider : public ExecutionProvider {
 public:
  const char* name() const override { return "ref"; }
  Result<std::unique_ptr<OpKernel>> CreateKernel(const KernelInfo& info) const override {
    const ir::Node& n = info.node();
    const KernelRegistry& reg = RefKernelRegistry();
    KernelFactory f = reg.Find(n.domain, n.op_type, n.opset);
    if (!f) {
      std::string dom = n.domain.empty() ? "ai.onnx" : n.domain;
      if (reg.Knows(n.domain, n.op_type))
        return NotImplemented("op '" + n.op_type + "' is not supported at " + dom + " opset " +
                              std::to_string(n.opset));
      return NotImplemented("unknown op '" + n.op_type + "' (domain " + dom + ")");
    }
    return f(info);
  }
};

}  // namespace

Result<std::shared_ptr<ExecutionProvider>> MakeProvider(const std::string& name) {
  if (name == "ref") return std::shared_ptr<ExecutionProvider>(std::make_shared<RefProvider>());
  if (name == "cpu") return MakeCpuProvider();
  return NotImplemented("unknown execution provider '" + name + "'");
}

}  // namespace tern
