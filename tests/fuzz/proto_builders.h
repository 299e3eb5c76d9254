// Small helpers for building ONNX models with the protobuf API in tests and in the corpus
// generator. Header-only; needs tern_internal (ONNX_NAMESPACE=onnx, ONNX_ML=1) and onnx_proto.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace tern::testing {

/// A dim of a declared shape: >= 0 a size, -1 unknown, or a symbolic name.
struct D {
  D(int64_t v) : value(v) {}      // NOLINT
  D(const char* p) : param(p) {}  // NOLINT
  int64_t value = -1;
  std::string param;
};

inline void SetTensorType(::onnx::TypeProto* tp, int32_t elem, const std::vector<D>& dims,
                          bool has_shape = true) {
  auto* tt = tp->mutable_tensor_type();
  tt->set_elem_type(elem);
  if (!has_shape) return;
  auto* shape = tt->mutable_shape();
  for (const D& d : dims) {
    auto* dim = shape->add_dim();
    if (!d.param.empty())
      dim->set_dim_param(d.param);
    else if (d.value >= 0)
      dim->set_dim_value(d.value);
  }
}

inline ::onnx::ValueInfoProto* AddInput(::onnx::GraphProto* g, const std::string& name,
                                        int32_t elem, const std::vector<D>& dims) {
  auto* vi = g->add_input();
  vi->set_name(name);
  SetTensorType(vi->mutable_type(), elem, dims);
  return vi;
}

inline ::onnx::ValueInfoProto* AddOutput(::onnx::GraphProto* g, const std::string& name,
                                         int32_t elem = 0, const std::vector<D>& dims = {},
                                         bool typed = false) {
  auto* vi = g->add_output();
  vi->set_name(name);
  if (typed) SetTensorType(vi->mutable_type(), elem, dims);
  return vi;
}

inline ::onnx::NodeProto* AddNode(::onnx::GraphProto* g, const std::string& op,
                                  std::initializer_list<const char*> inputs,
                                  std::initializer_list<const char*> outputs,
                                  const std::string& name = "") {
  auto* n = g->add_node();
  n->set_op_type(op);
  if (!name.empty()) n->set_name(name);
  for (const char* i : inputs) n->add_input(i);
  for (const char* o : outputs) n->add_output(o);
  return n;
}

/// A float initializer stored as raw_data.
inline ::onnx::TensorProto* AddFloatInit(::onnx::GraphProto* g, const std::string& name,
                                         const std::vector<int64_t>& dims,
                                         const std::vector<float>& values) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  return t;
}

inline ::onnx::ModelProto MakeModel(int64_t ir_version = 8, int64_t opset = 17) {
  ::onnx::ModelProto m;
  m.set_ir_version(ir_version);
  m.set_producer_name("tern-tests");
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

/// z = x + y over float [2,3]: the smallest useful valid model.
inline ::onnx::ModelProto AddModel() {
  auto m = MakeModel();
  auto* g = m.mutable_graph();
  AddInput(g, "x", ::onnx::TensorProto::FLOAT, {2, 3});
  AddInput(g, "y", ::onnx::TensorProto::FLOAT, {2, 3});
  AddNode(g, "Add", {"x", "y"}, {"z"}, "add");
  AddOutput(g, "z", ::onnx::TensorProto::FLOAT, {2, 3}, true);
  return m;
}

/// `depth` If nodes, each inside the previous one's then_branch (nesting limits).
inline ::onnx::ModelProto NestedIfModel(int depth) {
  auto m = MakeModel();
  auto* g = m.mutable_graph();
  AddInput(g, "c", ::onnx::TensorProto::BOOL, {});
  ::onnx::GraphProto* cur = g;
  for (int i = 0; i < depth; ++i) {
    auto* n = AddNode(cur, "If", {"c"}, {"o"});
    AddOutput(cur, "o");
    auto* a = n->add_attribute();
    a->set_name("then_branch");
    a->set_type(::onnx::AttributeProto::GRAPH);
    cur = a->mutable_g();
  }
  AddNode(cur, "Identity", {"c"}, {"o"});
  AddOutput(cur, "o");
  return m;
}

inline std::string Serialize(const ::onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return s;
}

}  // namespace tern::testing
