// Shared helpers for the control-flow, sequence and optional reference kernels: subgraph set-up
// (outer references), ownership of values that outlive a step, and slicing/stacking of tensors
// along an axis (Loop and Scan outputs, Scan inputs).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ep/ref/ref_common.h"

namespace tern::ref {

/// A subgraph ready to run, with the map from its outer refs to the owner's implicit inputs.
struct Subgraph {
  std::shared_ptr<ir::Graph> graph;
  std::unique_ptr<SubgraphRunner> runner;
  std::vector<size_t> outer_to_implicit;  ///< per graph->outer_refs entry: implicit input index

  /// Number of declared inputs / outputs.
  size_t num_inputs() const { return graph->inputs.size(); }
  size_t num_outputs() const { return graph->outputs.size(); }
  /// The declared type of output i.
  const ir::TypeInfo& output_type(size_t i) const { return graph->values[graph->outputs[i]].type; }
  /// Runs with `inputs` in declared order, binding outer refs from ctx's implicit inputs.
  Status Run(const KernelContext& ctx, const std::vector<const Value*>& inputs,
             std::vector<Value>* outputs) const;
};

/// Loads the graph attribute `attr`, builds its runner and maps its outer references.
Status LoadSubgraph(const KernelInfo& info, const char* attr, Subgraph* out);

/// A value that may outlive the current step: tensors that borrow memory (no holder, e.g. from
/// the arena) are deep-copied; owned tensors are shared.
Result<Value> OwnValue(const Value& v);
/// As OwnValue for one tensor.
Result<Tensor> OwnTensor(const Tensor& t);

/// Copies `n` elements of `type` (strings by assignment).
void CopyElements(DataType type, void* dst, int64_t dst_index, const void* src, int64_t src_index,
                  int64_t n);
/// Sets `n` elements to zero (empty strings for kString).
void ZeroElements(DataType type, void* dst, int64_t dst_index, int64_t n);

/// The sub-tensor at `index` along `axis`, with that axis removed (a new owned tensor).
Result<Tensor> SliceAxis(const Tensor& t, int64_t axis, int64_t index);

/// Shape of `slice` with `count` inserted at `axis`.
Shape InsertDim(const Shape& slice, int64_t axis, int64_t count);

/// Writes `slice` into `out` at `index` along `axis` (out's shape is InsertDim(slice, axis, n)).
void PlaceSlice(Tensor* out, int64_t axis, int64_t index, const Tensor& slice);

/// A shape for an empty stack of slices whose type is declared as `type`: [0, dims...] when the
/// declared dims are known, [0] otherwise.
Shape EmptyStackShape(const ir::TypeInfo& type);

/// The element type of a declared sequence/optional/tensor type (kUndefined when unknown).
DataType DeclaredElemType(const ir::TypeInfo& type);
/// DeclaredElemType(type), or kFloat32 when it is unknown (for empty outputs of unknown type).
inline DataType DeclaredElemTypeOr32(const ir::TypeInfo& type) {
  DataType t = DeclaredElemType(type);
  return t == DataType::kUndefined ? DataType::kFloat32 : t;
}

}  // namespace tern::ref
