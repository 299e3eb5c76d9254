// Execution providers. A provider says whether it can run a node by trying to make a kernel for
// it: NotImplemented (with a reason) means "not me", and the partitioner moves on to the next
// provider in the session's order, ending at the reference provider.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ep/kernel.h"

namespace tern {

/// Kernel factories by (domain, op type), each valid from an opset version on.
class KernelRegistry {
 public:
  /// Registers `factory` for opsets >= since_version of `domain` ("" is ai.onnx).
  void Add(const char* domain, const char* op_type, KernelFactory factory, int since_version = 1);
  /// The factory for the largest since_version <= opset; nullptr when none.
  KernelFactory Find(const std::string& domain, const std::string& op_type, int opset) const;
  bool Knows(const std::string& domain, const std::string& op_type) const;
  size_t size() const { return table_.size(); }

 private:
  std::map<std::pair<std::string, std::string>, std::vector<std::pair<int, KernelFactory>>> table_;
};

class ExecutionProvider {
 public:
  virtual ~ExecutionProvider() = default;
  virtual const char* name() const = 0;
  /// A kernel for the node, or NotImplemented saying why this provider cannot run it.
  virtual Result<std::unique_ptr<OpKernel>> CreateKernel(const KernelInfo& info) const = 0;
};

/// Makes a provider by name ("cpu", "ref"); NotImplemented for unknown names.
Result<std::shared_ptr<ExecutionProvider>> MakeProvider(const std::string& name);

/// The reference provider's registry (built once, read-only afterwards).
const KernelRegistry& RefKernelRegistry();

}  // namespace tern
