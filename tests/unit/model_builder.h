// Builds small ONNX models in memory for tests (uses libonnx's protobuf classes).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace tern::test {

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 17, int64_t ir_version = 8) {
    model_.set_ir_version(ir_version);
    auto* os = model_.add_opset_import();
    os->set_domain("");
    os->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }
  ::onnx::GraphProto* graph() { return model_.mutable_graph(); }
  ::onnx::ModelProto& model() { return model_; }

  /// dims: -1 for a symbolic dim named "d<i>"; rank -1 (empty `dims` with no_shape) for none.
  static void SetType(::onnx::ValueInfoProto* vi, int32_t elem, const std::vector<int64_t>& dims,
                      bool has_shape = true) {
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem);
    if (!has_shape) return;
    auto* shape = tt->mutable_shape();
    for (size_t i = 0; i < dims.size(); ++i) {
      auto* d = shape->add_dim();
      if (dims[i] >= 0) d->set_dim_value(dims[i]);
      else d->set_dim_param(std::string("d").append(std::to_string(i)));
    }
  }
  ModelBuilder& Input(const std::string& name, int32_t elem, const std::vector<int64_t>& dims) {
    auto* vi = graph()->add_input();
    vi->set_name(name);
    SetType(vi, elem, dims);
    return *this;
  }
  ModelBuilder& Output(const std::string& name, int32_t elem, const std::vector<int64_t>& dims,
                       bool has_shape = true) {
    auto* vi = graph()->add_output();
    vi->set_name(name);
    SetType(vi, elem, dims, has_shape);
    return *this;
  }
  ::onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* n = graph()->add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(graph()->node_size()) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }
  ModelBuilder& FloatInit(const std::string& name, const std::vector<int64_t>& dims,
                          const std::vector<float>& values) {
    auto* t = graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(values.data(), values.size() * sizeof(float));
    return *this;
  }
  std::string Bytes() const { return model_.SerializeAsString(); }

 private:
  ::onnx::ModelProto model_;
};

}  // namespace tern::test
