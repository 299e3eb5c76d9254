// tern::Session: load an ONNX model once, run it many times, from several threads if wanted.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tern/status.h"
#include "tern/tensor.h"
#include "tern/value.h"

namespace tern {

/// How a session is built.
struct SessionOptions {
  /// Intra-op threads; 0 picks the number of cores.
  int threads = 0;
  /// Providers in order of preference; a node goes to the first that can run it.
  /// "cpu" (optimized kernels) first, "ref" (the portable reference provider) as the last resort.
  std::vector<std::string> providers = {"cpu", "ref"};
  /// Fail at load when a node cannot run on the first provider instead of falling back.
  bool strict = false;
  /// Graph optimizations: 0 off, 1 on (the passes in src/passes, run once at load).
  int optimization_level = 1;
  /// Passes not to run, by name ("constant_folding", "dead_code", ...; `tern inspect` lists them).
  std::vector<std::string> disabled_passes;
  /// Largest model file accepted, in bytes.
  uint64_t max_model_bytes = uint64_t{4} << 30;
};

/// A graph input or output as declared by the model.
struct IoInfo {
  std::string name;
  enum class Kind : uint8_t { kTensor, kSequence, kOptional, kOther } kind = Kind::kTensor;
  DataType dtype = DataType::kUndefined;  ///< element type
  bool has_shape = false;
  std::vector<int64_t> dims;            ///< -1 where unknown or symbolic
  std::vector<std::string> dim_names;   ///< symbolic names ("" where none)
  std::string ShapeString() const;      ///< "[1,3,H,W]" or "?" when unknown
};

/// Where a node runs and why.
struct NodePlacement {
  std::string node_name;
  std::string op_type;
  std::string domain;
  int opset = 0;
  std::string provider;
  std::string reason;
};

/// What one graph optimization pass did at load.
struct PassRecord {
  std::string pass;   ///< e.g. "constant_folding"
  std::string verb;   ///< "folded", "removed", "fused"
  int count = 0;      ///< nodes rewritten over the main graph and its subgraphs
};

/// The optimizer's work at load: node counts (subgraphs included) and one record per pass run.
struct OptimizationReport {
  size_t nodes_before = 0;
  size_t nodes_after = 0;
  std::vector<PassRecord> passes;  ///< empty when optimization_level is 0
};

/// Time spent in one node during a profiled run. Nodes of subgraphs (If branches, Loop and Scan
/// bodies) are listed too, named "<subgraph>/<node>"; their time also counts in their parent node.
struct NodeTiming {
  std::string node_name;
  std::string op_type;
  std::string provider;
  double start_us = 0;     ///< from the start of the run
  double duration_us = 0;
};

/// Per-run statistics of the last run on the calling thread's context.
struct RunStats {
  /// When set before the run, receives one timing per executed node (adds a clock read per node).
  std::vector<NodeTiming>* profile = nullptr;
  uint64_t arena_bytes = 0;    ///< arena size of the memory plan used
  uint64_t dynamic_bytes = 0;  ///< bytes allocated outside the plan in this run
  bool planned = false;        ///< a cached memory plan was used
};

/// A loaded model ready to run. Thread-safe: Run may be called concurrently.
class Session {
 public:
  static Result<std::unique_ptr<Session>> Load(const std::string& path,
                                               const SessionOptions& options = {});
  static Result<std::unique_ptr<Session>> LoadFromMemory(const void* data, size_t size,
                                                         const SessionOptions& options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::vector<IoInfo>& inputs() const;
  const std::vector<IoInfo>& outputs() const;
  /// Opset imports of the model: domain ("" is ai.onnx) -> version.
  const std::map<std::string, int64_t>& opsets() const;
  int64_t ir_version() const;
  const std::vector<NodePlacement>& placements() const;
  /// Statically inferred type of every node output of the main graph: (name, "float32[N,64,?]").
  std::vector<std::pair<std::string, std::string>> ValueTypes() const;
  /// What the graph optimizations did at load.
  const OptimizationReport& optimization_report() const;
  /// Op type histogram of the main graph and its subgraphs.
  std::map<std::string, int> OpHistogram() const;

  /// Runs with inputs in graph-input order; fills `outputs` in graph-output order.
  Status Run(const std::vector<Value>& inputs, std::vector<Value>* outputs,
             RunStats* stats = nullptr) const;
  /// Runs with named inputs (any order).
  Status Run(const std::map<std::string, Value>& inputs, std::vector<Value>* outputs,
             RunStats* stats = nullptr) const;
  /// Largest arena of any memory plan made so far.
  uint64_t peak_arena_bytes() const;

 private:
  Session();
  struct Impl;
  struct Builder;
  friend struct Builder;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tern
