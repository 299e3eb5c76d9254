// Static type and shape inference on the IR, independent of libonnx's schemas: fills the TypeInfo
// of values from the graph inputs' declared (possibly symbolic) shapes and the initializers.
// It is best effort: ops it does not know, or shapes that depend on data it cannot see, leave a
// value's shape unknown (kind kTensor with has_shape false) and never fail the load. Run-time
// shapes are always exact: the executor records them and re-plans memory when they change.
#pragma once

#include "ir/graph.h"

namespace tern::ir {

struct InferStats {
  int values = 0;        ///< node outputs seen
  int typed = 0;         ///< with a known element type
  int shaped = 0;        ///< with a known rank (dims may be symbolic)
};

/// Infers types in `graph` and, recursively, its subgraphs. Declared value_info is kept where
/// inference knows less.
InferStats InferTypes(Graph& graph);

}  // namespace tern::ir
