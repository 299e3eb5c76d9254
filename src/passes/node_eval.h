// Runs one node once, on constant inputs, with the reference kernels: what constant folding uses
// to turn a node into initializers.
#pragma once

#include <vector>

#include "ep/provider.h"
#include "ir/graph.h"

namespace tern::passes {

/// Evaluates `node` (a node of `graph` whose inputs are all initializers) with `provider`.
/// Returns one tensor per output (undefined for omitted outputs). Fails when the provider has no
/// kernel, the kernel fails, an output is not a tensor, or an output exceeds `max_bytes`.
Result<std::vector<Tensor>> EvaluateNode(const ir::Graph& graph, const ir::Node& node,
                                         const ExecutionProvider& provider, uint64_t max_bytes);

}  // namespace tern::passes
