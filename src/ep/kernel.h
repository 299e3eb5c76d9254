// The kernel interface every provider implements. A kernel is created once per node at session
// load (attributes parsed, weights packed) and then called once per run with a KernelContext that
// gives it its inputs and allocates its outputs from the session's memory plan.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "ir/graph.h"
#include "tern/status.h"
#include "tern/tensor.h"
#include "tern/value.h"

namespace tern {

/// Runs a subgraph (an If branch, a Loop or Scan body) made by a SubgraphFactory.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  /// `inputs` follow the subgraph's declared inputs (nullptr keeps an initializer's default);
  /// `outer` follows the subgraph's outer_refs.
  virtual Status Run(const std::vector<const Value*>& inputs,
                     const std::vector<const Value*>& outer, std::vector<Value>* outputs) const = 0;
};

/// Lets control-flow kernels build executors for their subgraphs with the session's providers.
class SubgraphFactory {
 public:
  virtual ~SubgraphFactory() = default;
  virtual Result<std::unique_ptr<SubgraphRunner>> Create(const ir::Graph& graph) const = 0;
};

/// What a kernel factory sees: the node, its attributes, and what is known statically.
class KernelInfo {
 public:
  KernelInfo(const ir::Graph& graph, const ir::Node& node,
             const SubgraphFactory* subgraphs = nullptr)
      : graph_(graph), node_(node), subgraphs_(subgraphs) {}
  /// Builds runners for this node's subgraphs; nullptr when the session offers none.
  const SubgraphFactory* subgraphs() const { return subgraphs_; }

  const ir::Node& node() const { return node_; }
  const ir::Graph& graph() const { return graph_; }
  int opset() const { return node_.opset; }
  size_t num_inputs() const { return node_.inputs.size(); }
  size_t num_outputs() const { return node_.outputs.size(); }
  bool has_input(size_t i) const { return i < node_.inputs.size() && node_.inputs[i] >= 0; }
  bool has_output(size_t i) const { return i < node_.outputs.size() && node_.outputs[i] >= 0; }
  /// The constant value of input i when it is an initializer, else nullptr.
  const Tensor* constant_input(size_t i) const;
  /// The declared type of input i (kind kUnknown when not declared).
  const ir::TypeInfo& input_type(size_t i) const;

  bool has_attr(const char* name) const { return node_.attr(name) != nullptr; }
  int64_t GetInt(const char* name, int64_t fallback) const;
  float GetFloat(const char* name, float fallback) const;
  std::string GetString(const char* name, const std::string& fallback) const;
  std::vector<int64_t> GetInts(const char* name) const;  ///< empty when absent
  std::vector<float> GetFloats(const char* name) const;
  std::vector<std::string> GetStrings(const char* name) const;
  const Tensor* GetTensor(const char* name) const;
  std::shared_ptr<ir::Graph> GetGraph(const char* name) const;

  /// An error that names the node: "Conv 'conv1': message".
  Status Error(StatusCode code, const std::string& message) const;

 private:
  const ir::Graph& graph_;
  const ir::Node& node_;
  const SubgraphFactory* subgraphs_;
};

class KernelContext;

/// A kernel ready to run. Compute must be thread-safe: runs on several threads share kernels.
class OpKernel {
 public:
  virtual ~OpKernel() = default;
  virtual Status Compute(KernelContext& ctx) const = 0;
};

using KernelFactory = Result<std::unique_ptr<OpKernel>> (*)(const KernelInfo& info);

/// Implemented by the executor: where output memory comes from.
class OutputAllocator {
 public:
  virtual ~OutputAllocator() = default;
  virtual Result<Tensor*> Allocate(size_t output, DataType type, const Shape& shape) = 0;
  virtual Status Alias(size_t output, size_t input, const Shape& shape) = 0;
  virtual Status Set(size_t output, Value value) = 0;
};

/// A kernel's view of one run: its inputs, its outputs, and the thread pool.
class KernelContext {
 public:
  KernelContext(const ir::Node& node, const Value* const* inputs, size_t num_inputs,
                const Value* const* implicit, size_t num_implicit, OutputAllocator* alloc,
                ThreadPool* pool)
      : node_(node),
        inputs_(inputs),
        num_inputs_(num_inputs),
        implicit_(implicit),
        num_implicit_(num_implicit),
        alloc_(alloc),
        pool_(pool) {}

  const ir::Node& node() const { return node_; }
  int opset() const { return node_.opset; }
  size_t num_inputs() const { return num_inputs_; }
  /// True when input i is given (not omitted, not an empty optional).
  bool has_input(size_t i) const {
    return i < num_inputs_ && inputs_[i] != nullptr && !inputs_[i]->is_none();
  }
  /// Input i as a tensor; an undefined tensor (dtype kUndefined) when input i is omitted, out of
  /// range or not a tensor, so that a malformed node cannot make a kernel read out of bounds.
  const Tensor& input(size_t i) const {
    static const Tensor kAbsent;
    return i < num_inputs_ && inputs_[i] != nullptr ? inputs_[i]->tensor : kAbsent;
  }
  /// Input i as a value (nullptr when omitted).
  const Value* input_value(size_t i) const { return i < num_inputs_ ? inputs_[i] : nullptr; }
  size_t num_implicit_inputs() const { return num_implicit_; }
  const Value* implicit_input(size_t i) const { return implicit_[i]; }

  size_t num_outputs() const { return node_.outputs.size(); }
  /// False when the model does not use output i (it need not be computed).
  bool output_wanted(size_t i) const { return i < node_.outputs.size() && node_.outputs[i] >= 0; }
  /// Memory for output i (uninitialised unless the type is string). Fails on bad shapes.
  Result<Tensor*> Output(size_t i, DataType type, const Shape& shape) {
    return alloc_->Allocate(i, type, shape);
  }
  /// Output i is input `input` seen with a new shape (same element count): no copy when the
  /// memory plan allows it.
  Status AliasInput(size_t output, size_t input, const Shape& shape) {
    return alloc_->Alias(output, input, shape);
  }
  /// Sets output i to a value made by the kernel (sequences, optionals, subgraph results).
  Status SetOutput(size_t i, Value value) { return alloc_->Set(i, std::move(value)); }

  ThreadPool* thread_pool() const { return pool_; }
  /// An error that names the node: "Conv 'conv1': message".
  Status Error(StatusCode code, const std::string& message) const {
    return Status(code, node_.Describe() + ": " + message);
  }

 private:
  const ir::Node& node_;
  const Value* const* inputs_;
  size_t num_inputs_;
  const Value* const* implicit_;
  size_t num_implicit_;
  OutputAllocator* alloc_;
  ThreadPool* pool_;
};

}  // namespace tern
