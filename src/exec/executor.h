// Executor: runs one graph (the main graph or a subgraph) with kernels chosen by the partitioner.
//
// Memory: the first run for a given input signature (dtypes and shapes of inputs and outer
// values) allocates every intermediate on its own and records its shape, size and lifetime; from
// that record a plan puts every intermediate at an offset in one arena, reused by later runs with
// the same signature. A plan is a cache, never a promise: each allocation checks the planned
// shape and falls back to its own memory on a mismatch (data-dependent shapes), and aliasing
// (Reshape and friends) only shares arena memory where the plan recorded the alias.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ep/kernel.h"
#include "ep/provider.h"
#include "tern/session.h"

namespace tern {

struct ExecConfig {
  std::vector<std::shared_ptr<ExecutionProvider>> providers;
  bool strict = false;
  ThreadPool* pool = nullptr;
  /// Receives a record per node (subgraph nodes too); may be null.
  std::vector<NodePlacement>* placements = nullptr;
  /// Check inputs against the declared types and shapes (the main graph does).
  bool check_inputs = false;
};

struct Plan;
struct RunState;

class Executor : public SubgraphRunner, public SubgraphFactory {
 public:
  static Result<std::unique_ptr<Executor>> Create(const ir::Graph& graph, const ExecConfig& config,
                                                  const std::string& scope_prefix = "");
  ~Executor() override;

  Status Run(const std::vector<const Value*>& inputs, const std::vector<const Value*>& outer,
             std::vector<Value>* outputs) const override;
  Status RunWithStats(const std::vector<const Value*>& inputs,
                      const std::vector<const Value*>& outer, std::vector<Value>* outputs,
                      RunStats* stats) const;
  Result<std::unique_ptr<SubgraphRunner>> Create(const ir::Graph& graph) const override;

  const ir::Graph& graph() const { return graph_; }
  uint64_t peak_arena_bytes() const;

 private:
  struct Step;
  Executor(const ir::Graph& graph, const ExecConfig& config, std::string scope_prefix);
  Status Build();
  std::unique_ptr<RunState> AcquireState() const;
  void ReleaseState(std::unique_ptr<RunState> state) const;
  std::shared_ptr<const Plan> FindPlan(const std::vector<int64_t>& signature) const;
  void MakePlan(const RunState& state) const;
  Status CheckInput(size_t index, const Value& value) const;

  const ir::Graph& graph_;
  ExecConfig config_;
  std::string scope_prefix_;
  std::vector<Step> steps_;
  std::vector<int> value_last_use_;     ///< step index; -1 never used by a step
  std::vector<bool> value_is_output_;   ///< a graph output
  std::vector<std::vector<int>> release_after_;  ///< values to drop after each step

  mutable std::mutex mu_;
  mutable std::vector<std::unique_ptr<RunState>> free_states_;
  mutable std::vector<std::shared_ptr<const Plan>> plans_;
  mutable uint64_t peak_arena_bytes_ = 0;
};

}  // namespace tern
