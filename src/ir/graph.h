// Tern's graph IR: values with (possibly symbolic) types, nodes in topological order, attributes,
// initializers held without copies, and subgraphs (If/Loop/Scan bodies) that may read values of
// their enclosing graphs ("outer references").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"
#include "tern/tensor.h"

namespace tern::ir {

/// One dimension of a declared shape: a known size, a symbolic name, or unknown.
struct Dim {
  int64_t value = -1;  ///< >= 0 when known
  std::string param;   ///< symbolic name, e.g. "batch"
  bool known() const { return value >= 0; }
};

/// The declared or inferred type of a value.
struct TypeInfo {
  enum class Kind : uint8_t { kUnknown, kTensor, kSequence, kOptional, kMap, kSparseTensor };
  Kind kind = Kind::kUnknown;
  DataType elem = DataType::kUndefined;  ///< element type of the tensor (or the innermost one)
  bool has_shape = false;
  std::vector<Dim> dims;
  std::shared_ptr<TypeInfo> inner;  ///< element type of a sequence or optional
  std::string ToString() const;
};

class Graph;

enum class AttrType : uint8_t {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensor = 11,
  kTypeProto = 13,
};

struct Attribute {
  std::string name;
  AttrType type = AttrType::kUndefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::shared_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::shared_ptr<Graph>> graphs;
  TypeInfo type_proto;  ///< for kTypeProto
};

/// Attributes for nodes that passes, the quantizer and autodiff create.
inline Attribute IntAttr(const std::string& name, int64_t v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInt;
  a.i = v;
  return a;
}
inline Attribute FloatAttr(const std::string& name, float v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kFloat;
  a.f = v;
  return a;
}
inline Attribute StringAttr(const std::string& name, const std::string& v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kString;
  a.s = v;
  return a;
}
inline Attribute IntsAttr(const std::string& name, std::vector<int64_t> v) {
  Attribute a;
  a.name = name;
  a.type = AttrType::kInts;
  a.ints = std::move(v);
  return a;
}

struct Node {
  std::string name;
  std::string op_type;
  std::string domain;        ///< "" for ai.onnx
  int opset = 0;             ///< version of `domain` imported by the model
  std::vector<int> inputs;   ///< value ids in the owning graph; -1 for an omitted optional input
  std::vector<int> outputs;  ///< value ids; -1 for an omitted optional output
  /// Values of the owning graph that this node's subgraphs read (outer references).
  std::vector<int> implicit_inputs;
  std::vector<Attribute> attrs;

  const Attribute* attr(std::string_view attr_name) const;
  /// "Conv 'conv1'" for messages.
  std::string Describe() const;
};

struct Value {
  std::string name;
  TypeInfo type;
  int producer = -1;      ///< node index, or -1
  bool is_input = false;  ///< a graph input
  bool is_initializer = false;
  bool is_outer = false;  ///< bound from an enclosing graph
  Tensor initializer;     ///< when is_initializer
};

/// A graph (the main one or a subgraph).
class Graph {
 public:
  std::string name;
  std::vector<Value> values;
  std::vector<Node> nodes;      ///< topological order
  std::vector<int> inputs;      ///< graph inputs in declared order (may include initializers)
  std::vector<int> outputs;     ///< graph outputs in declared order
  std::vector<int> outer_refs;  ///< values bound from the enclosing graph, by name
  const Graph* parent = nullptr;

  /// Finds a value by name in this graph only; -1 when missing.
  int FindValue(std::string_view value_name) const;
  int AddValue(const std::string& value_name);
  /// Graph inputs that are not initializers (what a caller must feed).
  std::vector<int> RequiredInputs() const;
  /// Number of nodes here and in all nested subgraphs.
  size_t TotalNodes() const;

 private:
  std::map<std::string, int, std::less<>> index_;
};

/// An imported model: the main graph plus what keeps its initializer memory alive.
struct Model {
  int64_t ir_version = 0;
  std::map<std::string, int64_t> opsets;  ///< "" is ai.onnx
  std::string producer_name;
  std::string producer_version;
  std::shared_ptr<Graph> graph;
  std::vector<std::shared_ptr<void>> keepalive;  ///< parsed protobuf, mapped external files
};

/// Sorts nodes topologically (stable for already sorted graphs). Fails on cycles and on inputs
/// that no node, initializer, graph input or enclosing graph defines.
Status SortAndVerify(Graph& graph);

}  // namespace tern::ir
