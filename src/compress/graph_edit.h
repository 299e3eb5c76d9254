// Small helpers for passes that rewrite an ir::Model's main graph: fresh names, new
// initializers and nodes, and dropping initializers that nothing reads any more.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "tern/status.h"

namespace tern::compress {

using ir::FloatAttr;
using ir::IntAttr;
/// An int or float attribute of a node, or `dflt` when absent.
int64_t AttrInt(const ir::Node& n, const char* name, int64_t dflt);
float AttrFloat(const ir::Node& n, const char* name, float dflt);
/// The float32 initializer behind value `id` (not a graph input), or nullptr.
const Tensor* FloatWeight(const ir::Graph& g, int id);

class GraphEditor {
 public:
  explicit GraphEditor(ir::Model& model);

  ir::Graph& graph() { return *model_.graph; }
  /// `base`, or `base_2`, `base_3`... whichever no value or node uses yet.
  std::string UniqueName(const std::string& base);
  /// A new initializer value holding `t`; returns its id.
  int AddInitializer(const std::string& base, Tensor t);
  /// A new intermediate value of element type `elem` (shape left to inference).
  int AddValue(const std::string& base, DataType elem);
  /// Appends a node (order is fixed by Finish); its opset is the model's for `domain`.
  void AddNode(const std::string& op, std::vector<int> inputs, std::vector<int> outputs,
               std::vector<ir::Attribute> attrs = {}, const std::string& domain = "");
  /// Initializer `id` itself when factor is 1, else a new initializer holding it times factor.
  Result<int> ScaledInitializer(int id, float factor);
  /// Drops the nodes i with erase[i] (nodes added after `erase` was sized are kept).
  void EraseNodes(const std::vector<bool>& erase);
  /// Number of node inputs (in the main graph and subgraph implicit inputs) reading `value`.
  int CountUses(int value) const;
  /// Sorts the nodes and drops initializers that are no longer read by anything.
  Status Finish();

 private:
  ir::Model& model_;
  std::set<std::string> node_names_;
};

}  // namespace tern::compress
