// The optimizer runs each pass to a fixed point (at most kMaxSweeps sweeps) on every graph,
// innermost subgraphs first, re-sorting and verifying after each sweep and re-running type
// inference so that later passes see the shapes earlier ones made known.
#include <algorithm>

#include "ir/infer.h"
#include "passes/passes.h"

namespace tern::passes {
namespace {

constexpr int kMaxSweeps = 8;

void CollectGraphs(ir::Graph& g, std::vector<ir::Graph*>* out) {
  for (auto& n : g.nodes)
    for (auto& a : n.attrs) {
      if (a.g) CollectGraphs(*a.g, out);
      for (auto& sg : a.graphs) CollectGraphs(*sg, out);
    }
  out->push_back(&g);
}

}  // namespace

std::vector<std::unique_ptr<Pass>> AllPasses() {
  std::vector<std::unique_ptr<Pass>> p;
  p.push_back(MakeIdentityElimination());
  p.push_back(MakeConstantFolding());
  p.push_back(MakeReshapeElimination());
  p.push_back(MakeTransposeElimination());
  p.push_back(MakeWeightFolding());
  p.push_back(MakeActivationFusion());
  p.push_back(MakeQdqFusion());
  p.push_back(MakeDeadCode());
  return p;
}

std::vector<std::string> PassNames() {
  std::vector<std::string> names;
  for (const auto& p : AllPasses()) names.push_back(p->name());
  return names;
}

Result<OptimizeResult> Optimize(ir::Model& model, const std::vector<std::string>& disabled) {
  std::vector<std::string> names = PassNames();
  for (const auto& d : disabled)
    if (std::find(names.begin(), names.end(), d) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("unknown pass '" + d + "' (passes: " + known + ")");
    }
  OptimizeResult result;
  result.nodes_before = model.graph->TotalNodes();
  PassContext ctx;
  ctx.opsets = &model.opsets;
  ctx.keep_weight_dequantize =
      std::find(disabled.begin(), disabled.end(), "qdq_fusion") == disabled.end();
  for (const auto& pass : AllPasses()) {
    if (std::find(disabled.begin(), disabled.end(), pass->name()) != disabled.end()) continue;
    PassResult pr{pass->name(), pass->verb(), 0};
    std::vector<ir::Graph*> graphs;
    CollectGraphs(*model.graph, &graphs);
    for (ir::Graph* g : graphs) {
      for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
        TERN_ASSIGN_OR_RETURN(int changed, pass->Run(*g, ctx));
        if (changed == 0) break;
        pr.count += changed;
        Status st = ir::SortAndVerify(*g);
        if (!st.ok()) return st.WithContext(std::string("after pass ") + pass->name());
        ir::InferTypes(*model.graph);
      }
    }
    result.passes.push_back(pr);
  }
  result.nodes_after = model.graph->TotalNodes();
  return result;
}

}  // namespace tern::passes
