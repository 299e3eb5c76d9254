// Magnitude pruning of Conv, Gemm and MatMul weights.
//
//  - Unstructured: in every weight tensor, the round(S * size) weights of smallest magnitude
//    become 0 (ties broken by position, so the count is exact). The file keeps its size; a
//    sparse-aware runtime or a compressor gains from the zeros.
//  - Structured: each Conv (group 1) or Gemm loses the round(S * C) output channels of smallest
//    L1 norm, and everything that reads those channels is rewired: BatchNormalization
//    parameters, per-channel constants of Add/Sub/Mul/Div, the input channels of the next Conv,
//    the rows of the next Gemm/MatMul weight (through a Flatten when the spatial size is
//    static). Elementwise activations and pooling pass channels through. A layer is left alone
//    (and the report says why) when its channels reach a graph output, a non-constant operand
//    (a residual Add), Concat, Reshape, or any op this pass cannot rewrite, or when a weight it
//    would edit is shared. The model really shrinks: fewer weights and smaller activations.
//    A removed channel's output is dropped, not compensated, so the outputs are unchanged
//    exactly when the removed channels were already zero after their activation.
#pragma once

#include <set>
#include <string>

#include "compress/report.h"
#include "ir/graph.h"
#include "tern/status.h"

namespace tern::compress {

struct PruneOptions {
  double sparsity = 0.5;  ///< share of weights (or output channels) removed per layer, 0..1
  bool structured = false;
  std::set<std::string> exclude_nodes;
};

/// Prunes a copy of `model`; `summary` (optional) says what changed and what was skipped.
Result<ir::Model> Prune(const ir::Model& model, const PruneOptions& options,
                        PruneSummary* summary = nullptr);

/// Zeros the round(sparsity * numel) entries of smallest magnitude of a float32 tensor (ties by
/// index); returns how many it zeroed.
int64_t ZeroSmallest(Tensor& w, double sparsity);

}  // namespace tern::compress
