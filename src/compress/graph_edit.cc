#include "compress/graph_edit.h"

namespace tern::compress {

int64_t AttrInt(const ir::Node& n, const char* name, int64_t dflt) {
  const ir::Attribute* a = n.attr(name);
  return a ? a->i : dflt;
}

float AttrFloat(const ir::Node& n, const char* name, float dflt) {
  const ir::Attribute* a = n.attr(name);
  return a ? a->f : dflt;
}

const Tensor* FloatWeight(const ir::Graph& g, int id) {
  if (id < 0) return nullptr;
  const ir::Value& v = g.values[static_cast<size_t>(id)];
  if (!v.is_initializer || v.is_input || v.initializer.dtype() != DataType::kFloat32)
    return nullptr;
  return &v.initializer;
}

GraphEditor::GraphEditor(ir::Model& model) : model_(model) {
  for (const ir::Node& n : model_.graph->nodes) node_names_.insert(n.name);
}

std::string GraphEditor::UniqueName(const std::string& base) {
  auto taken = [&](const std::string& s) {
    return graph().FindValue(s) >= 0 || node_names_.count(s) > 0;
  };
  if (!taken(base)) return base;
  for (int k = 2;; ++k) {
    std::string s = base + "_" + std::to_string(k);
    if (!taken(s)) return s;
  }
}

int GraphEditor::AddInitializer(const std::string& base, Tensor t) {
  int id = graph().AddValue(UniqueName(base));
  ir::Value& v = graph().values[static_cast<size_t>(id)];
  v.is_initializer = true;
  v.type.kind = ir::TypeInfo::Kind::kTensor;
  v.type.elem = t.dtype();
  v.type.has_shape = true;
  for (int64_t d : t.shape()) v.type.dims.push_back(ir::Dim{d, {}});
  v.initializer = std::move(t);
  return id;
}

int GraphEditor::AddValue(const std::string& base, DataType elem) {
  int id = graph().AddValue(UniqueName(base));
  ir::Value& v = graph().values[static_cast<size_t>(id)];
  v.type.kind = ir::TypeInfo::Kind::kTensor;
  v.type.elem = elem;
  return id;
}

void GraphEditor::AddNode(const std::string& op, std::vector<int> inputs, std::vector<int> outputs,
                          std::vector<ir::Attribute> attrs, const std::string& domain) {
  ir::Node n;
  n.op_type = op;
  n.domain = domain;
  auto it = model_.opsets.find(domain);
  n.opset = it == model_.opsets.end() ? 0 : static_cast<int>(it->second);
  std::string base = outputs.empty() ? op : graph().values[static_cast<size_t>(outputs[0])].name;
  n.name = UniqueName(base + "_" + op);
  node_names_.insert(n.name);
  n.inputs = std::move(inputs);
  n.outputs = std::move(outputs);
  n.attrs = std::move(attrs);
  graph().nodes.push_back(std::move(n));
}

Result<int> GraphEditor::ScaledInitializer(int id, float factor) {
  if (factor == 1.0f) return id;
  const ir::Value& v = graph().values[static_cast<size_t>(id)];
  TERN_ASSIGN_OR_RETURN(Tensor c, v.initializer.Clone());
  for (int64_t k = 0; k < c.numel(); ++k) c.data<float>()[k] *= factor;
  return AddInitializer(v.name + "_scaled", std::move(c));
}

void GraphEditor::EraseNodes(const std::vector<bool>& erase) {
  std::vector<ir::Node> kept;
  for (size_t i = 0; i < graph().nodes.size(); ++i)
    if (i >= erase.size() || !erase[i]) kept.push_back(std::move(graph().nodes[i]));
  graph().nodes = std::move(kept);
}

int GraphEditor::CountUses(int value) const {
  int uses = 0;
  for (const ir::Node& n : model_.graph->nodes) {
    for (int i : n.inputs) uses += i == value;
    for (int i : n.implicit_inputs) uses += i == value;
  }
  for (int o : model_.graph->outputs) uses += o == value;
  return uses;
}

Status GraphEditor::Finish() {
  ir::Graph& g = graph();
  std::vector<int> uses(g.values.size(), 0);
  for (const ir::Node& n : g.nodes) {
    for (int i : n.inputs)
      if (i >= 0) ++uses[static_cast<size_t>(i)];
    for (int i : n.implicit_inputs) ++uses[static_cast<size_t>(i)];
  }
  for (int o : g.outputs) ++uses[static_cast<size_t>(o)];
  for (size_t id = 0; id < g.values.size(); ++id) {
    ir::Value& v = g.values[id];
    // A replaced weight: forget it so the exporter does not write it. Graph inputs stay.
    if (v.is_initializer && !v.is_input && uses[id] == 0) {
      v.is_initializer = false;
      v.initializer = Tensor();
      v.type = ir::TypeInfo();
    }
  }
  return ir::SortAndVerify(g);
}

}  // namespace tern::compress
