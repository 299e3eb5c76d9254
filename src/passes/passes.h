// The graph optimizer: the list of passes and the driver that runs them at session load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "passes/pass.h"

namespace tern::passes {

std::unique_ptr<Pass> MakeIdentityElimination();
std::unique_ptr<Pass> MakeConstantFolding();
std::unique_ptr<Pass> MakeWeightFolding();
std::unique_ptr<Pass> MakeActivationFusion();
std::unique_ptr<Pass> MakeTransposeElimination();
std::unique_ptr<Pass> MakeReshapeElimination();
std::unique_ptr<Pass> MakeQdqFusion();
std::unique_ptr<Pass> MakeDeadCode();

/// True when constant folding should keep DequantizeLinear node `n`: qdq_fusion is enabled and
/// every reader of its output reads it as the weight or bias of a Conv, MatMul or Gemm (or their
/// ai.tern Fused forms).
bool KeepForQdqFusion(const ir::Graph& g, const ir::Node& n, const PassContext& ctx,
                      const UseIndex& index);

/// Every pass in the order the optimizer runs them.
std::vector<std::unique_ptr<Pass>> AllPasses();
/// Names of all passes, in order.
std::vector<std::string> PassNames();

struct PassResult {
  std::string pass;
  std::string verb;
  int count = 0;  ///< rewrites over the main graph and all subgraphs
};

struct OptimizeResult {
  size_t nodes_before = 0;  ///< main graph and subgraphs
  size_t nodes_after = 0;
  std::vector<PassResult> passes;
};

/// Runs the passes not named in `disabled` over the model's graph and subgraphs, re-sorting and
/// verifying after each one. Fails on an unknown name in `disabled`, or when a pass leaves an
/// invalid graph (a bug: the message names the pass).
Result<OptimizeResult> Optimize(ir::Model& model, const std::vector<std::string>& disabled);

}  // namespace tern::passes
