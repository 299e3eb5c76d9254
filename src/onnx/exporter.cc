// ir::Model -> ModelProto. The inverse of importer.cc: every graph writes its inputs (with the
// declared types), initializers (always inline raw_data, so external data and folded Constant
// nodes come back as ordinary initializers), nodes with their attributes, outputs, and the
// inferred types of the other values as value_info. Values a subgraph reads from an enclosing
// graph are not declared in the subgraph (ONNX resolves them by name), and a node's implicit
// inputs are Tern bookkeeping that ONNX does not store.
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <onnx/version_converter/convert.h>

#include <exception>
#include <map>
#include <set>

#include "onnx/onnx_import.h"
#include "onnx/onnx_internal.h"

namespace tern::onnx {

namespace {

constexpr int kMaxGraphDepth = 64;

void TypeToProto(const ir::TypeInfo& t, ::onnx::TypeProto* tp) {
  using Kind = ir::TypeInfo::Kind;
  switch (t.kind) {
    case Kind::kTensor: {
      auto* tt = tp->mutable_tensor_type();
      tt->set_elem_type(static_cast<int32_t>(t.elem));
      if (!t.has_shape) break;
      auto* shape = tt->mutable_shape();
      for (const ir::Dim& d : t.dims) {
        auto* dp = shape->add_dim();
        if (d.known())
          dp->set_dim_value(d.value);
        else if (!d.param.empty())
          dp->set_dim_param(d.param);
      }
      break;
    }
    case Kind::kSequence:
      if (t.inner)
        TypeToProto(*t.inner, tp->mutable_sequence_type()->mutable_elem_type());
      else
        tp->mutable_sequence_type();
      break;
    case Kind::kOptional:
      if (t.inner)
        TypeToProto(*t.inner, tp->mutable_optional_type()->mutable_elem_type());
      else
        tp->mutable_optional_type();
      break;
    default:
      break;  // map / sparse / unknown: leave the type empty, as ONNX allows
  }
}

void ValueInfo(const ir::Value& v, ::onnx::ValueInfoProto* vi) {
  vi->set_name(v.name);
  if (v.type.kind != ir::TypeInfo::Kind::kUnknown) TypeToProto(v.type, vi->mutable_type());
}

Status GraphToProto(const ir::Graph& g, ::onnx::GraphProto* gp, int depth,
                    const std::set<std::string>* int4_initializers = nullptr);

Status AttributeToProto(const ir::Attribute& a, ::onnx::AttributeProto* ap, int depth) {
  ap->set_name(a.name);
  ap->set_type(static_cast<::onnx::AttributeProto::AttributeType>(a.type));
  switch (a.type) {
    case ir::AttrType::kFloat:
      ap->set_f(a.f);
      break;
    case ir::AttrType::kInt:
      ap->set_i(a.i);
      break;
    case ir::AttrType::kString:
      ap->set_s(a.s);
      break;
    case ir::AttrType::kTensor:
      TensorToProto(a.t, "", ap->mutable_t());
      break;
    case ir::AttrType::kGraph:
      if (!a.g) return InvalidModel("attribute '" + a.name + "' has no graph");
      TERN_RETURN_IF_ERROR(GraphToProto(*a.g, ap->mutable_g(), depth + 1));
      break;
    case ir::AttrType::kFloats:
      for (float f : a.floats) ap->add_floats(f);
      break;
    case ir::AttrType::kInts:
      for (int64_t i : a.ints) ap->add_ints(i);
      break;
    case ir::AttrType::kStrings:
      for (const auto& s : a.strings) ap->add_strings(s);
      break;
    case ir::AttrType::kTensors:
      for (const auto& t : a.tensors) TensorToProto(t, "", ap->add_tensors());
      break;
    case ir::AttrType::kGraphs:
      for (const auto& g : a.graphs) {
        if (!g) return InvalidModel("attribute '" + a.name + "' has a missing graph");
        TERN_RETURN_IF_ERROR(GraphToProto(*g, ap->add_graphs(), depth + 1));
      }
      break;
    case ir::AttrType::kTypeProto:
      TypeToProto(a.type_proto, ap->mutable_tp());
      break;
    case ir::AttrType::kUndefined:
      // The importer keeps empty lists as undefined; ONNX reads an untyped, empty attribute
      // the same way.
      ap->clear_type();
      break;
    default:
      return NotImplemented("attribute '" + a.name + "' of type " +
                            std::to_string(static_cast<int>(a.type)) + " cannot be exported");
  }
  return Status::Ok();
}

std::string ValueName(const ir::Graph& g, int id) {
  return id < 0 ? std::string() : g.values[static_cast<size_t>(id)].name;
}

Status GraphToProto(const ir::Graph& g, ::onnx::GraphProto* gp, int depth,
                    const std::set<std::string>* int4_initializers) {
  if (depth > kMaxGraphDepth) return InvalidModel("subgraphs are nested too deeply");
  gp->set_name(g.name);
  std::vector<bool> declared(g.values.size(), false);
  for (int id : g.inputs) {
    ValueInfo(g.values[static_cast<size_t>(id)], gp->add_input());
    declared[static_cast<size_t>(id)] = true;
  }
  for (size_t id = 0; id < g.values.size(); ++id) {
    const ir::Value& v = g.values[id];
    if (!v.is_initializer) continue;
    if (int4_initializers && int4_initializers->count(v.name)) {
      TERN_RETURN_IF_ERROR(Int4TensorToProto(v.initializer, v.name, gp->add_initializer()));
    } else {
      TensorToProto(v.initializer, v.name, gp->add_initializer());
    }
    declared[id] = true;
  }
  for (const ir::Node& n : g.nodes) {
    auto* np = gp->add_node();
    np->set_name(n.name);
    np->set_op_type(n.op_type);
    if (!n.domain.empty()) np->set_domain(n.domain);
    for (int id : n.inputs) np->add_input(ValueName(g, id));
    for (int id : n.outputs) np->add_output(ValueName(g, id));
    for (const ir::Attribute& a : n.attrs) {
      Status st = AttributeToProto(a, np->add_attribute(), depth);
      if (!st.ok()) return st.WithContext(n.Describe());
    }
  }
  for (int id : g.outputs) {
    ValueInfo(g.values[static_cast<size_t>(id)], gp->add_output());
    declared[static_cast<size_t>(id)] = true;
  }
  for (size_t id = 0; id < g.values.size(); ++id) {
    const ir::Value& v = g.values[id];
    if (declared[id] || v.is_outer || v.type.kind == ir::TypeInfo::Kind::kUnknown) continue;
    ValueInfo(v, gp->add_value_info());
  }
  return Status::Ok();
}

Result<std::shared_ptr<::onnx::ModelProto>> ModelToProto(const ir::Model& model,
                                                         const ExportOptions& options = {}) {
  if (!model.graph) return InvalidArgument("model has no graph");
  auto proto = std::make_shared<::onnx::ModelProto>();
  // IR 3 requires every initializer to be a graph input; the importer turns Constant nodes into
  // initializers that are not, so such models are written as IR 4, which lifts that rule.
  proto->set_ir_version(std::max<int64_t>(model.ir_version, 4));
  proto->set_producer_name(model.producer_name.empty() ? "tern" : model.producer_name);
  proto->set_producer_version(model.producer_version);
  for (const auto& [domain, version] : model.opsets) {
    auto* os = proto->add_opset_import();
    os->set_domain(domain);
    os->set_version(version);
  }
  TERN_RETURN_IF_ERROR(
      GraphToProto(*model.graph, proto->mutable_graph(), 0, &options.int4_initializers));
  return proto;
}

/// Softmax-like ops keep their input's shape; when inference could not type the input (a shape
/// computed at run time) but the output is declared, the converter may still learn the rank.
void TypeSoftmaxInputs(::onnx::GraphProto* g) {
  std::map<std::string, ::onnx::ValueInfoProto*> typed;
  for (auto& vi : *g->mutable_value_info()) typed[vi.name()] = &vi;
  for (auto& vi : *g->mutable_output()) typed[vi.name()] = &vi;
  for (auto& vi : *g->mutable_input()) typed[vi.name()] = &vi;
  auto has_shape = [&](const std::string& name) {
    auto it = typed.find(name);
    return it != typed.end() && it->second->type().tensor_type().has_shape();
  };
  for (const auto& n : g->node()) {
    if (n.op_type() != "Softmax" && n.op_type() != "LogSoftmax" && n.op_type() != "Hardmax")
      continue;
    if (n.input_size() < 1 || n.output_size() < 1 || has_shape(n.input(0))) continue;
    if (!has_shape(n.output(0))) continue;
    auto it = typed.find(n.input(0));
    ::onnx::ValueInfoProto* vi = it != typed.end() ? it->second : g->add_value_info();
    vi->mutable_type()->CopyFrom(typed[n.output(0)]->type());
    vi->set_name(n.input(0));
  }
}

}  // namespace

Result<std::string> ExportModel(const ir::Model& model) { return ExportModel(model, {}); }

Result<std::string> ExportModel(const ir::Model& model, const ExportOptions& options) {
  TERN_ASSIGN_OR_RETURN(auto proto, ModelToProto(model, options));
  if (proto->ByteSizeLong() > static_cast<size_t>(INT32_MAX))
    return NotImplemented("models over 2 GB need external data, which export does not write");
  std::string out;
  if (!proto->SerializeToString(&out)) return Internal("ModelProto serialisation failed");
  return out;
}

Result<ir::Model> ConvertOpset(const ir::Model& model, int64_t target) {
  auto it = model.opsets.find("");
  if (it != model.opsets.end() && it->second == target) {
    TERN_ASSIGN_OR_RETURN(std::string same, ExportModel(model));
    return ImportModel(same.data(), same.size(), ImportOptions{});
  }
  TERN_ASSIGN_OR_RETURN(auto proto, ModelToProto(model));
  ::onnx::ModelProto converted;
  // libonnx's version converter reports unsupported conversions by throwing; the exception
  // stops here so that no exception crosses the library boundary.
  try {
    // Some adapters (Softmax 12 -> 13) need the rank of their input: infer shapes first.
    ::onnx::shape_inference::InferShapes(*proto);
    TypeSoftmaxInputs(proto->mutable_graph());
    converted = ::onnx::version_conversion::ConvertVersion(*proto, static_cast<int>(target));
  } catch (const std::exception& e) {
    return NotImplemented("cannot convert the model to opset " + std::to_string(target) + ": " +
                          e.what());
  }
  std::string bytes;
  if (!converted.SerializeToString(&bytes)) return Internal("ModelProto serialisation failed");
  return ImportModel(bytes.data(), bytes.size(), ImportOptions{});
}

}  // namespace tern::onnx
