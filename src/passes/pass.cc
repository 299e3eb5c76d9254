#include "passes/pass.h"

namespace tern::passes {

UseIndex::UseIndex(const ir::Graph& graph)
    : uses(graph.values.size()), is_output(graph.values.size(), false) {
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& n = graph.nodes[i];
    for (size_t s = 0; s < n.inputs.size(); ++s)
      if (n.inputs[s] >= 0)
        uses[n.inputs[s]].emplace_back(static_cast<int>(i), static_cast<int>(s));
    for (int v : n.implicit_inputs) uses[v].emplace_back(static_cast<int>(i), -1);
  }
  for (int v : graph.outputs) is_output[v] = true;
}

bool UseIndex::SingleUse(int value) const {
  return value >= 0 && !is_output[value] && uses[value].size() == 1 && uses[value][0].second >= 0;
}

const Tensor* ConstantOf(const ir::Graph& graph, int value) {
  if (value < 0) return nullptr;
  const ir::Value& v = graph.values[value];
  return v.is_initializer && !v.is_input ? &v.initializer : nullptr;
}

int AddInitializer(ir::Graph& graph, PassContext& ctx, const std::string& base, Tensor tensor) {
  std::string name;
  do {
    name = base + "__tern" + std::to_string(ctx.name_counter++);
  } while (graph.FindValue(name) >= 0);
  int id = graph.AddValue(name);
  ir::Value& v = graph.values[id];
  v.is_initializer = true;
  v.type.kind = ir::TypeInfo::Kind::kTensor;
  v.type.elem = tensor.dtype();
  v.type.has_shape = true;
  for (int64_t d : tensor.shape()) v.type.dims.push_back(ir::Dim{d, {}});
  v.initializer = std::move(tensor);
  return id;
}

void RemoveNodes(ir::Graph& graph, const std::vector<bool>& remove) {
  std::vector<ir::Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    if (!remove[i]) kept.push_back(std::move(graph.nodes[i]));
  graph.nodes = std::move(kept);
}

bool ConstantInts(const ir::Graph& graph, int value, std::vector<int64_t>* out) {
  const Tensor* t = ConstantOf(graph, value);
  if (!t) return false;
  out->clear();
  if (t->dtype() == DataType::kInt64)
    out->assign(t->data<int64_t>(), t->data<int64_t>() + t->numel());
  else if (t->dtype() == DataType::kInt32)
    out->assign(t->data<int32_t>(), t->data<int32_t>() + t->numel());
  else
    return false;
  return true;
}

bool ReplaceUses(ir::Graph& graph, const UseIndex& index, int from, int to) {
  if (index.is_output[from]) return false;
  for (const auto& [node, slot] : index.uses[from])
    if (slot < 0) return false;
  for (const auto& [node, slot] : index.uses[from]) graph.nodes[node].inputs[slot] = to;
  return true;
}

bool Bypass(ir::Graph& graph, const UseIndex& index, const std::vector<bool>& removed, int node,
            int in, int out) {
  if (ReplaceUses(graph, index, out, in)) return true;
  const ir::Value& iv = graph.values[in];
  int p = iv.producer;
  if (p < 0 || removed[p] || index.is_output[in] || index.uses[in].size() != 1 ||
      index.uses[in][0].first != node)
    return false;
  for (int& o : graph.nodes[p].outputs)
    if (o == in) o = out;
  return true;
}

bool StaticShape(const ir::Graph& graph, int value, std::vector<int64_t>* dims) {
  if (value < 0) return false;
  const ir::TypeInfo& t = graph.values[value].type;
  if (t.kind != ir::TypeInfo::Kind::kTensor || !t.has_shape) return false;
  dims->clear();
  for (const auto& d : t.dims) {
    if (!d.known()) return false;
    dims->push_back(d.value);
  }
  return true;
}

}  // namespace tern::passes
