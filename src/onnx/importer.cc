// ModelProto -> ir::Model. Each graph is imported in two passes: first every name it defines
// (inputs, initializers, node outputs) so that node order does not matter, then the nodes and
// their attributes, recursing into subgraphs. A name a subgraph uses but does not define is
// looked up in the enclosing graphs and bound as an outer reference; every graph on the way gets
// it as an implicit input of the node that owns the subgraph.
#include <onnx/onnx_pb.h>

#include <set>

#include "onnx/onnx_import.h"
#include "onnx/onnx_internal.h"

namespace tern::onnx {

namespace {

constexpr int64_t kMinIrVersion = 3;
constexpr int64_t kMaxIrVersion = 11;
constexpr int kMaxGraphDepth = 64;

std::string NormDomain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

Result<ir::TypeInfo> ConvertType(const ::onnx::TypeProto& tp, int depth = 0) {
  ir::TypeInfo t;
  if (depth > 16) return InvalidModel("type nesting too deep");
  switch (tp.value_case()) {
    case ::onnx::TypeProto::kTensorType: {
      t.kind = ir::TypeInfo::Kind::kTensor;
      const auto& tt = tp.tensor_type();
      const int32_t elem = UnpackedElemType(tt.elem_type());  // 4-bit types are held unpacked
      if (elem != 0 && !IsValidDataType(elem))
        return InvalidModel("unknown element type " + std::to_string(tt.elem_type()));
      t.elem = static_cast<DataType>(elem);
      if (tt.has_shape()) {
        t.has_shape = true;
        for (const auto& d : tt.shape().dim()) {
          ir::Dim dim;
          if (d.has_dim_value() && d.dim_value() >= 0) dim.value = d.dim_value();
          if (d.has_dim_param()) dim.param = d.dim_param();
          t.dims.push_back(dim);
        }
      }
      break;
    }
    case ::onnx::TypeProto::kSequenceType: {
      t.kind = ir::TypeInfo::Kind::kSequence;
      TERN_ASSIGN_OR_RETURN(ir::TypeInfo inner, ConvertType(tp.sequence_type().elem_type(), depth + 1));
      t.elem = inner.elem;
      t.inner = std::make_shared<ir::TypeInfo>(std::move(inner));
      break;
    }
    case ::onnx::TypeProto::kOptionalType: {
      t.kind = ir::TypeInfo::Kind::kOptional;
      TERN_ASSIGN_OR_RETURN(ir::TypeInfo inner, ConvertType(tp.optional_type().elem_type(), depth + 1));
      t.elem = inner.elem;
      t.inner = std::make_shared<ir::TypeInfo>(std::move(inner));
      break;
    }
    case ::onnx::TypeProto::kMapType: t.kind = ir::TypeInfo::Kind::kMap; break;
    case ::onnx::TypeProto::kSparseTensorType: t.kind = ir::TypeInfo::Kind::kSparseTensor; break;
    default: break;
  }
  return t;
}

struct Scope {
  ir::Graph* graph = nullptr;
  Scope* parent = nullptr;
  /// implicit_inputs of the node in `parent` that owns this graph.
  std::vector<int>* owner_implicit = nullptr;
};

class Importer {
 public:
  Importer(const std::map<std::string, int64_t>& opsets, TensorSource source)
      : opsets_(opsets), source_(std::move(source)) {}

  Result<std::shared_ptr<ir::Graph>> ImportGraph(const ::onnx::GraphProto& gp, Scope* parent,
                                                 std::vector<int>* owner_implicit, int depth);

 private:
  /// A value id in scope->graph for `name`, binding it from enclosing graphs if needed; -1 if
  /// no graph defines it.
  int Resolve(Scope* scope, const std::string& name);
  Result<Tensor> ConstantValue(const ::onnx::AttributeProto& a);
  Result<Tensor> ConstantListValue(const ::onnx::AttributeProto& a);
  Result<ir::Attribute> ConvertAttribute(const ::onnx::AttributeProto& ap, Scope* scope,
                                         std::vector<int>* implicit, int depth,
                                         const std::string& node_desc);

  const std::map<std::string, int64_t>& opsets_;
  TensorSource source_;
};

int Importer::Resolve(Scope* scope, const std::string& name) {
  int id = scope->graph->FindValue(name);
  if (id >= 0) return id;
  if (!scope->parent) return -1;
  int outer = Resolve(scope->parent, name);
  if (outer < 0) return -1;
  id = scope->graph->AddValue(name);
  ir::Value& v = scope->graph->values[id];
  v.is_outer = true;
  v.type = scope->parent->graph->values[outer].type;
  scope->graph->outer_refs.push_back(id);
  auto& implicit = *scope->owner_implicit;
  bool have = false;
  for (int x : implicit) have = have || x == outer;
  if (!have) implicit.push_back(outer);
  return id;
}

Result<Tensor> Importer::ConstantValue(const ::onnx::AttributeProto& a) {
  if (a.name() == "value" && a.has_t()) return TensorFromProto(a.t(), source_);
  TERN_ASSIGN_OR_RETURN(Tensor t, ConstantListValue(a));
  if (!t.defined())
    return ResourceExhausted("Constant attribute '" + a.name() + "' is too large");
  return t;
}

Result<Tensor> Importer::ConstantListValue(const ::onnx::AttributeProto& a) {
  auto count = [](int n) { return Shape{static_cast<int64_t>(n)}; };
  if (a.name() == "value_float")
    return Tensor::FromVector(DataType::kFloat32, Shape{}, std::vector<float>{a.f()});
  if (a.name() == "value_floats")
    return Tensor::FromVector(DataType::kFloat32, count(a.floats_size()),
                              std::vector<float>(a.floats().begin(), a.floats().end()));
  if (a.name() == "value_int")
    return Tensor::FromVector(DataType::kInt64, Shape{}, std::vector<int64_t>{a.i()});
  if (a.name() == "value_ints")
    return Tensor::FromVector(DataType::kInt64, count(a.ints_size()),
                              std::vector<int64_t>(a.ints().begin(), a.ints().end()));
  if (a.name() == "value_string")
    return Tensor::FromVector(DataType::kString, Shape{}, std::vector<std::string>{a.s()});
  if (a.name() == "value_strings")
    return Tensor::FromVector(DataType::kString, count(a.strings_size()),
                              std::vector<std::string>(a.strings().begin(), a.strings().end()));
  return NotImplemented("Constant attribute '" + a.name() + "'");
}

Result<ir::Attribute> Importer::ConvertAttribute(const ::onnx::AttributeProto& ap, Scope* scope,
                                                 std::vector<int>* implicit, int depth,
                                                 const std::string& node_desc) {
  ir::Attribute a;
  a.name = ap.name();
  const std::string what = node_desc + " attribute '" + ap.name() + "'";
  if (!ap.ref_attr_name().empty())
    return NotImplemented(what + ": attribute references belong in functions");
  int type = ap.type();
  if (type == 0) {  // old models leave the type out; infer it from the field that is set
    if (ap.has_f()) type = 1;
    else if (ap.has_i()) type = 2;
    else if (ap.has_s()) type = 3;
    else if (ap.has_t()) type = 4;
    else if (ap.has_g()) type = 5;
    else if (ap.floats_size()) type = 6;
    else if (ap.ints_size()) type = 7;
    else if (ap.strings_size()) type = 8;
    else if (ap.tensors_size()) type = 9;
    else if (ap.graphs_size()) type = 10;
  }
  a.type = static_cast<ir::AttrType>(type);
  switch (type) {
    case 1: a.f = ap.f(); break;
    case 2: a.i = ap.i(); break;
    case 3: a.s = ap.s(); break;
    case 4: {
      auto r = TensorFromProto(ap.t(), source_);
      if (!r.ok()) return r.status().WithContext(what);
      a.t = std::move(r).value();
      break;
    }
    case 5: {
      TERN_ASSIGN_OR_RETURN(a.g, ImportGraph(ap.g(), scope, implicit, depth + 1));
      break;
    }
    case 6: a.floats.assign(ap.floats().begin(), ap.floats().end()); break;
    case 7: a.ints.assign(ap.ints().begin(), ap.ints().end()); break;
    case 8: a.strings.assign(ap.strings().begin(), ap.strings().end()); break;
    case 9:
      for (const auto& tp : ap.tensors()) {
        auto r = TensorFromProto(tp, source_);
        if (!r.ok()) return r.status().WithContext(what);
        a.tensors.push_back(std::move(r).value());
      }
      break;
    case 10:
      for (const auto& gp : ap.graphs()) {
        TERN_ASSIGN_OR_RETURN(auto g, ImportGraph(gp, scope, implicit, depth + 1));
        a.graphs.push_back(std::move(g));
      }
      break;
    case 11:
    case 12:
      return NotImplemented(what + ": sparse tensor attributes are not supported");
    case 13: {
      TERN_ASSIGN_OR_RETURN(a.type_proto, ConvertType(ap.tp()));
      break;
    }
    case 14: {
      // TYPE_PROTOS: unused by supported ops.
      break;
    }
    case 0:
      break;  // an empty attribute (e.g. an empty list): leave undefined
    default:
      return InvalidModel(what + ": unknown attribute type " + std::to_string(type));
  }
  return a;
}

Result<std::shared_ptr<ir::Graph>> Importer::ImportGraph(const ::onnx::GraphProto& gp,
                                                         Scope* parent,
                                                         std::vector<int>* owner_implicit,
                                                         int depth) {
  if (depth > kMaxGraphDepth) return InvalidModel("subgraphs are nested too deeply");
  auto graph = std::make_shared<ir::Graph>();
  graph->name = gp.name();
  graph->parent = parent ? parent->graph : nullptr;
  Scope scope{graph.get(), parent, owner_implicit};

  // Pass 1: names.
  for (const auto& init : gp.initializer()) {
    if (init.name().empty()) return InvalidModel("initializer without a name");
    if (graph->FindValue(init.name()) >= 0)
      return InvalidModel("initializer '" + init.name() + "' is defined twice");
    int id = graph->AddValue(init.name());
    auto r = TensorFromProto(init, source_);
    if (!r.ok()) return r.status().WithContext("initializer '" + init.name() + "'");
    ir::Value& v = graph->values[id];
    v.is_initializer = true;
    v.initializer = std::move(r).value();
    v.type.kind = ir::TypeInfo::Kind::kTensor;
    v.type.elem = v.initializer.dtype();
    v.type.has_shape = true;
    for (int64_t d : v.initializer.shape()) v.type.dims.push_back(ir::Dim{d, {}});
  }
  if (gp.sparse_initializer_size() > 0)
    return NotImplemented("graph '" + gp.name() + "': sparse initializers are not supported");
  for (const auto& in : gp.input()) {
    if (in.name().empty()) return InvalidModel("graph input without a name");
    int id = graph->FindValue(in.name());
    if (id < 0) id = graph->AddValue(in.name());
    else if (!graph->values[id].is_initializer || graph->values[id].is_input)
      return InvalidModel("graph input '" + in.name() + "' is declared twice");
    ir::Value& v = graph->values[id];
    v.is_input = true;
    if (in.has_type()) {
      TERN_ASSIGN_OR_RETURN(ir::TypeInfo t, ConvertType(in.type()));
      if (!v.is_initializer) v.type = std::move(t);
    }
    graph->inputs.push_back(id);
  }
  for (const auto& np : gp.node()) {
    for (const auto& out : np.output()) {
      if (out.empty()) continue;
      if (graph->FindValue(out) >= 0)
        return InvalidModel("value '" + out + "' is defined more than once");
      graph->AddValue(out);
    }
  }
  for (const auto& vi : gp.value_info()) {
    int id = graph->FindValue(vi.name());
    if (id >= 0 && vi.has_type() && !graph->values[id].is_initializer) {
      auto t = ConvertType(vi.type());
      if (t.ok()) graph->values[id].type = std::move(t).value();
    }
  }

  // Pass 2: nodes.
  graph->nodes.reserve(gp.node_size());
  for (const auto& np : gp.node()) {
    ir::Node node;
    node.name = np.name();
    node.op_type = np.op_type();
    node.domain = NormDomain(np.domain());
    const std::string desc = node.Describe();
    if (node.op_type.empty()) return InvalidModel("a node has no op_type");
    auto op = opsets_.find(node.domain);
    if (op == opsets_.end()) {
      if (!node.domain.empty())
        return InvalidModel(desc + ": domain '" + node.domain + "' is not imported by the model");
      return InvalidModel(desc + ": the model imports no ai.onnx opset");
    }
    node.opset = static_cast<int>(op->second);
    for (const auto& in : np.input()) {
      if (in.empty()) {
        node.inputs.push_back(-1);
        continue;
      }
      int id = Resolve(&scope, in);
      if (id < 0) return InvalidModel(desc + ": input '" + in + "' is not defined");
      node.inputs.push_back(id);
    }
    for (const auto& out : np.output())
      node.outputs.push_back(out.empty() ? -1 : graph->FindValue(out));
    if (node.domain.empty() && node.op_type == "Constant" && np.attribute_size() == 1 &&
        node.outputs.size() == 1 && node.outputs[0] >= 0 && np.input_size() == 0) {
      // A Constant node becomes an initializer: no kernel, no copy per run.
      auto folded = ConstantValue(np.attribute(0));
      if (folded.ok()) {
        ir::Value& v = graph->values[node.outputs[0]];
        v.is_initializer = true;
        v.initializer = std::move(folded).value();
        v.type.kind = ir::TypeInfo::Kind::kTensor;
        v.type.elem = v.initializer.dtype();
        v.type.has_shape = true;
        v.type.dims.clear();
        for (int64_t d : v.initializer.shape()) v.type.dims.push_back(ir::Dim{d, {}});
        continue;
      }
      if (folded.status().code() != StatusCode::kNotImplemented)
        return folded.status().WithContext(desc);
    }
    std::set<std::string> seen;
    for (const auto& ap : np.attribute()) {
      if (!seen.insert(ap.name()).second)
        return InvalidModel(desc + ": attribute '" + ap.name() + "' is given twice");
      TERN_ASSIGN_OR_RETURN(ir::Attribute a,
                            ConvertAttribute(ap, &scope, &node.implicit_inputs, depth, desc));
      node.attrs.push_back(std::move(a));
    }
    graph->nodes.push_back(std::move(node));
  }
  for (const auto& out : gp.output()) {
    int id = Resolve(&scope, out.name());
    if (id < 0) return InvalidModel("graph output '" + out.name() + "' is not defined");
    if (out.has_type()) {
      auto t = ConvertType(out.type());
      if (t.ok() && !graph->values[id].is_initializer) graph->values[id].type = std::move(t).value();
    }
    graph->outputs.push_back(id);
  }
  TERN_RETURN_IF_ERROR(ir::SortAndVerify(*graph));
  return graph;
}

}  // namespace

Result<ir::Model> ImportModel(const void* data, size_t size, const ImportOptions& options) {
  if (size > options.max_model_bytes)
    return ResourceExhausted("model is " + std::to_string(size) + " bytes, over the limit");
  if (size > static_cast<size_t>(INT32_MAX))
    return NotImplemented("models over 2 GB need external data");
  auto proto = std::make_shared<::onnx::ModelProto>();
  if (!proto->ParseFromArray(data, static_cast<int>(size)))
    return InvalidModel("not a valid ONNX model (protobuf parse failed; truncated or corrupt?)");
  ir::Model model;
  model.ir_version = proto->ir_version();
  if (model.ir_version < kMinIrVersion || model.ir_version > kMaxIrVersion)
    return NotImplemented("IR version " + std::to_string(model.ir_version) +
                          " is not supported (3 to " + std::to_string(kMaxIrVersion) + ")");
  for (const auto& os : proto->opset_import()) {
    if (os.version() < 1 || os.version() > INT32_MAX)
      return InvalidModel("opset version " + std::to_string(os.version()) + " for domain '" +
                          os.domain() + "'");
    model.opsets[NormDomain(os.domain())] = os.version();
  }
  if (proto->opset_import_size() == 0) model.opsets[""] = 1;  // IR 3 models may omit it
  model.producer_name = proto->producer_name();
  model.producer_version = proto->producer_version();
  if (!proto->has_graph()) return InvalidModel("model has no graph");
  if (proto->functions_size() > 0) {
    // Model-local functions are accepted only when no node calls them.
    for (const auto& f : proto->functions())
      for (const auto& n : proto->graph().node())
        if (n.op_type() == f.name() && NormDomain(n.domain()) == NormDomain(f.domain()))
          return NotImplemented("model-local function '" + f.name() + "' is not supported yet");
  }
  TensorSource source;
  source.keepalive = proto;
  source.model_dir = options.model_dir;
  source.mappings = &model.keepalive;
  Importer importer(model.opsets, source);
  TERN_ASSIGN_OR_RETURN(model.graph, importer.ImportGraph(proto->graph(), nullptr, nullptr, 0));
  model.keepalive.push_back(proto);
  return model;
}

Result<ir::Model> ImportModelFile(const std::string& path, uint64_t max_model_bytes) {
  TERN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path, max_model_bytes));
  ImportOptions options;
  options.max_model_bytes = max_model_bytes;
  auto slash = path.find_last_of('/');
  options.model_dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (options.model_dir.empty()) options.model_dir = "/";
  return ImportModel(bytes.data(), bytes.size(), options);
}

}  // namespace tern::onnx
