#include "ir/graph.h"

#include <algorithm>
#include <queue>

namespace tern::ir {

std::string TypeInfo::ToString() const {
  switch (kind) {
    case Kind::kUnknown: return "?";
    case Kind::kSequence: return "seq(" + (inner ? inner->ToString() : std::string("?")) + ")";
    case Kind::kOptional: return "opt(" + (inner ? inner->ToString() : std::string("?")) + ")";
    case Kind::kMap: return "map";
    case Kind::kSparseTensor: return "sparse";
    case Kind::kTensor: break;
  }
  std::string s = DataTypeName(elem);
  if (!has_shape) return s + "[?]";
  s += "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    if (dims[i].known())
      s += std::to_string(dims[i].value);
    else
      s += dims[i].param.empty() ? "?" : dims[i].param;
  }
  return s + "]";
}

const Attribute* Node::attr(std::string_view attr_name) const {
  for (const auto& a : attrs)
    if (a.name == attr_name) return &a;
  return nullptr;
}

std::string Node::Describe() const {
  std::string d = op_type;
  if (!name.empty()) d += " '" + name + "'";
  return d;
}

int Graph::FindValue(std::string_view value_name) const {
  auto it = index_.find(value_name);
  return it == index_.end() ? -1 : it->second;
}

int Graph::AddValue(const std::string& value_name) {
  int id = static_cast<int>(values.size());
  values.emplace_back();
  values.back().name = value_name;
  if (!value_name.empty()) index_.emplace(value_name, id);
  return id;
}

std::vector<int> Graph::RequiredInputs() const {
  std::vector<int> r;
  for (int v : inputs)
    if (!values[v].is_initializer) r.push_back(v);
  return r;
}

size_t Graph::TotalNodes() const {
  size_t n = nodes.size();
  for (const auto& node : nodes)
    for (const auto& a : node.attrs) {
      if (a.g) n += a.g->TotalNodes();
      for (const auto& g : a.graphs) n += g->TotalNodes();
    }
  return n;
}

Status SortAndVerify(Graph& graph) {
  const size_t n = graph.nodes.size();
  std::vector<int> producer(graph.values.size(), -1);
  for (size_t i = 0; i < n; ++i)
    for (int v : graph.nodes[i].outputs) {
      if (v < 0) continue;
      if (producer[v] >= 0 || graph.values[v].is_input || graph.values[v].is_initializer ||
          graph.values[v].is_outer)
        return InvalidModel("value '" + graph.values[v].name + "' is defined more than once (by " +
                            graph.nodes[i].Describe() + ")");
      producer[v] = static_cast<int>(i);
    }
  // Kahn's algorithm; ties keep the original order.
  std::vector<int> pending(n, 0);
  std::vector<std::vector<int>> users(n);
  for (size_t i = 0; i < n; ++i) {
    auto count = [&](int v) {
      if (v < 0) return Status::Ok();
      const Value& val = graph.values[v];
      if (producer[v] >= 0) {
        ++pending[i];
        users[producer[v]].push_back(static_cast<int>(i));
        return Status::Ok();
      }
      if (val.is_input || val.is_initializer || val.is_outer) return Status::Ok();
      return InvalidModel(graph.nodes[i].Describe() + ": input '" + val.name +
                          "' is not produced by any node, initializer or graph input");
    };
    for (int v : graph.nodes[i].inputs) TERN_RETURN_IF_ERROR(count(v));
    for (int v : graph.nodes[i].implicit_inputs) TERN_RETURN_IF_ERROR(count(v));
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < n; ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<int> order;
  order.reserve(n);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  if (order.size() != n) {
    for (size_t i = 0; i < n; ++i)
      if (pending[i] > 0)
        return InvalidModel("graph '" + graph.name + "' has a cycle through " +
                            graph.nodes[i].Describe());
  }
  bool sorted = true;
  for (size_t i = 0; i < n; ++i) sorted = sorted && order[i] == static_cast<int>(i);
  if (!sorted) {
    std::vector<Node> nodes;
    nodes.reserve(n);
    for (int i : order) nodes.push_back(std::move(graph.nodes[i]));
    graph.nodes = std::move(nodes);
  }
  for (auto& v : graph.values) v.producer = -1;
  for (size_t i = 0; i < n; ++i)
    for (int v : graph.nodes[i].outputs)
      if (v >= 0) graph.values[v].producer = static_cast<int>(i);
  for (int v : graph.outputs) {
    const Value& val = graph.values[v];
    if (val.producer < 0 && !val.is_input && !val.is_initializer && !val.is_outer)
      return InvalidModel("graph output '" + val.name + "' is not produced by anything");
  }
  return Status::Ok();
}

}  // namespace tern::ir
