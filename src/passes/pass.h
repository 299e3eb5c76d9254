// Graph optimization passes. Each pass rewrites one ir::Graph in place (the optimizer calls it on
// the main graph and on every subgraph) and says how many rewrites it made. Passes keep the graph
// valid: node order may break while a pass runs, and the optimizer re-sorts and verifies after
// each one.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "tern/status.h"

namespace tern::passes {

/// What the passes may read and change besides the graph.
struct PassContext {
  std::map<std::string, int64_t>* opsets = nullptr;  ///< the model's opset imports
  uint64_t max_folded_bytes = uint64_t{64} << 20;    ///< largest tensor constant folding makes
  int name_counter = 0;                              ///< makes new value names unique
  /// Set while qdq_fusion is enabled: constant folding keeps the DequantizeLinear of weights that
  /// Conv/MatMul/Gemm read, so that qdq_fusion can turn those nodes into int8 ones.
  bool keep_weight_dequantize = false;
};

class Pass {
 public:
  virtual ~Pass() = default;
  /// Stable name used by SessionOptions::disabled_passes and `tern inspect`.
  virtual const char* name() const = 0;
  /// The verb for reports: "folded", "removed", "fused".
  virtual const char* verb() const = 0;
  /// Rewrites `graph`; returns the number of rewrites (nodes folded, removed or fused).
  virtual Result<int> Run(ir::Graph& graph, PassContext& ctx) const = 0;
};

/// Uses of each value: (node index, input slot) pairs, implicit inputs counted with slot -1, and
/// whether the value is a graph output. Rebuild after a pass edits the graph.
struct UseIndex {
  std::vector<std::vector<std::pair<int, int>>> uses;
  std::vector<bool> is_output;
  explicit UseIndex(const ir::Graph& graph);
  /// True when `value` has exactly one consumer (one input slot of one node) and is not a graph
  /// output: the condition for fusing its producer into that consumer.
  bool SingleUse(int value) const;
};

/// The constant tensor of a value (an initializer that a caller cannot override), or nullptr.
const Tensor* ConstantOf(const ir::Graph& graph, int value);
/// Adds a new initializer value named after `base`, unique in the graph.
int AddInitializer(ir::Graph& graph, PassContext& ctx, const std::string& base, Tensor tensor);
/// Removes the nodes marked true (their output values become dangling and unused).
void RemoveNodes(ir::Graph& graph, const std::vector<bool>& remove);
/// Reads an int64/int32 constant into `out`; false when the value is not such a constant.
bool ConstantInts(const ir::Graph& graph, int value, std::vector<int64_t>* out);
/// Points every explicit use of `from` at `to`. Refuses (false, nothing changed) when `from` is a
/// graph output or read by a subgraph, since those are bound by name.
bool ReplaceUses(ir::Graph& graph, const UseIndex& index, int from, int to);
/// Makes node `node` (which reads `in` and writes `out`) redundant by having readers of `out` read
/// `in`, or, when `out` must keep its name (a graph output), by having the producer of `in` write
/// `out` directly. False when neither is safe. The caller then removes the node.
bool Bypass(ir::Graph& graph, const UseIndex& index, const std::vector<bool>& removed, int node,
            int in, int out);
/// The value's statically known shape (every dim known); false otherwise.
bool StaticShape(const ir::Graph& graph, int value, std::vector<int64_t>* dims);

}  // namespace tern::passes
