// The evaluator gives the kernel an allocator of its own: every output is a fresh tensor (views of
// inputs are copied, so a folded constant never borrows from a tensor that may go away).
#include "passes/node_eval.h"

namespace tern::passes {
namespace {

class FoldAllocator : public OutputAllocator {
 public:
  FoldAllocator(const std::vector<Value>& inputs, size_t num_outputs, uint64_t max_bytes)
      : inputs_(inputs), outputs_(num_outputs), max_bytes_(max_bytes) {}

  Result<Tensor*> Allocate(size_t output, DataType type, const Shape& shape) override {
    if (output >= outputs_.size()) return InvalidArgument("no such output");
    TERN_RETURN_IF_ERROR(CheckShape(shape, type, "folded constant", max_bytes_));
    TERN_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(type, shape));
    outputs_[output] = Value(std::move(t));
    return &outputs_[output].tensor;
  }
  Status Alias(size_t output, size_t input, const Shape& shape) override {
    if (output >= outputs_.size() || input >= inputs_.size() || !inputs_[input].is_tensor())
      return InvalidArgument("bad alias");
    const Tensor& src = inputs_[input].tensor;
    if (src.numel() != shape.NumElements()) return InvalidArgument("alias changes element count");
    TERN_ASSIGN_OR_RETURN(Tensor copy, src.Clone());
    outputs_[output] = Value(copy.Reshaped(shape));
    return Status::Ok();
  }
  Status Set(size_t output, Value value) override {
    if (output >= outputs_.size()) return InvalidArgument("no such output");
    outputs_[output] = std::move(value);
    return Status::Ok();
  }
  std::vector<Value>& outputs() { return outputs_; }

 private:
  const std::vector<Value>& inputs_;
  std::vector<Value> outputs_;
  uint64_t max_bytes_;
};

}  // namespace

Result<std::vector<Tensor>> EvaluateNode(const ir::Graph& graph, const ir::Node& node,
                                         const ExecutionProvider& provider, uint64_t max_bytes) {
  KernelInfo info(graph, node);
  TERN_ASSIGN_OR_RETURN(auto kernel, provider.CreateKernel(info));
  std::vector<Value> inputs(node.inputs.size());
  std::vector<const Value*> in_ptrs(node.inputs.size(), nullptr);
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    if (node.inputs[i] < 0) continue;
    const ir::Value& v = graph.values[node.inputs[i]];
    if (!v.is_initializer || v.is_input)
      return InvalidArgument(node.Describe() + ": input '" + v.name + "' is not a constant");
    inputs[i] = Value(v.initializer);
    in_ptrs[i] = &inputs[i];
  }
  FoldAllocator alloc(inputs, node.outputs.size(), max_bytes);
  ThreadPool pool(1);
  KernelContext ctx(node, in_ptrs.data(), in_ptrs.size(), nullptr, 0, &alloc, &pool);
  TERN_RETURN_IF_ERROR(kernel->Compute(ctx));
  std::vector<Tensor> result(node.outputs.size());
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    if (node.outputs[i] < 0) continue;
    Value& out = alloc.outputs()[i];
    if (!out.is_tensor())
      return NotImplemented(node.Describe() + ": output " + std::to_string(i) + " is not a tensor");
    if (out.tensor.nbytes() > max_bytes)
      return ResourceExhausted(node.Describe() + ": folded output is too large");
    result[i] = std::move(out.tensor);
  }
  return result;
}

}  // namespace tern::passes
