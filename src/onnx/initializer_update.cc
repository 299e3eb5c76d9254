#include "onnx/initializer_update.h"

#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "onnx/onnx_import.h"
#include "onnx/onnx_internal.h"

namespace tern::onnx {

Result<std::string> UpdateInitializers(const std::string& model_bytes,
                                       const std::vector<std::pair<std::string, Tensor>>& values) {
  ::onnx::ModelProto model;
  if (!model.ParseFromString(model_bytes)) return InvalidModel("cannot parse the ModelProto");
  std::map<std::string, const Tensor*> todo;
  for (const auto& [name, t] : values) todo[name] = &t;
  for (auto& init : *model.mutable_graph()->mutable_initializer()) {
    auto it = todo.find(init.name());
    if (it == todo.end()) continue;
    const Tensor& t = *it->second;
    bool same = init.data_type() == static_cast<int32_t>(t.dtype()) &&
                init.dims_size() == static_cast<int>(t.rank());
    for (int d = 0; same && d < init.dims_size(); ++d) same = init.dims(d) == t.dim(d);
    if (!same)
      return InvalidArgument("initializer '" + init.name() +
                             "': the new value has another type or shape " + t.shape().ToString());
    ::onnx::TensorProto fresh;
    TensorToProto(t, init.name(), &fresh);
    if (init.has_doc_string()) fresh.set_doc_string(init.doc_string());
    init = std::move(fresh);
    todo.erase(it);
  }
  if (!todo.empty())
    return InvalidArgument("the model has no initializer named '" + todo.begin()->first + "'");
  std::string out;
  if (!model.SerializeToString(&out)) return Internal("cannot serialize the model");
  return out;
}

Status UpdateInitializersFile(const std::string& in_path, const std::string& out_path,
                              const std::vector<std::pair<std::string, Tensor>>& values) {
  TERN_ASSIGN_OR_RETURN(std::string bytes, ReadFile(in_path, uint64_t{2} << 30));
  auto updated = UpdateInitializers(bytes, values);
  if (!updated.ok()) return updated.status().WithContext(in_path);
  std::ofstream f(out_path, std::ios::binary | std::ios::trunc);
  f.write(updated.value().data(), static_cast<std::streamsize>(updated.value().size()));
  f.close();
  if (!f) return IoError("cannot write '" + out_path + "'");
  return Status::Ok();
}

namespace {

void AddInit(::onnx::GraphProto* g, const std::string& name, const std::vector<int64_t>& dims,
             std::mt19937_64& rng, float stddev, float fill = 0.0f) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::vector<float> v(static_cast<size_t>(n), fill);
  if (stddev > 0) {
    std::normal_distribution<float> dist(0.0f, stddev);
    for (float& x : v) x = dist(rng);
  }
  TensorToProto(Tensor::FromVector<float>(DataType::kFloat32, Shape(dims), v), name,
                g->add_initializer());
}

::onnx::NodeProto* AddNode(::onnx::GraphProto* g, const std::string& op,
                           const std::vector<std::string>& in, const std::string& out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(out);
  for (const auto& s : in) n->add_input(s);
  n->add_output(out);
  return n;
}

void Ints(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

}  // namespace

std::string BuildSmallImageCnn(uint64_t seed, int channels1, int channels2) {
  std::mt19937_64 rng(seed);
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("tern");
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("small_image_cnn");
  auto* in = g->add_input();
  in->set_name("image");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  for (int64_t d : {1, 28, 28}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  std::string x = "image";
  int64_t c_in = 1, side = 28;
  for (int i = 1; i <= 2; ++i) {
    const int64_t c = i == 1 ? channels1 : channels2;
    const std::string p = "conv" + std::to_string(i);
    // He initialisation: stddev sqrt(2 / fan_in) keeps activations from shrinking under Relu.
    AddInit(g, p + ".weight", {c, c_in, 3, 3}, rng, std::sqrt(2.0f / (c_in * 9)));
    AddInit(g, p + ".bias", {c}, rng, 0.0f);
    Ints(AddNode(g, "Conv", {x, p + ".weight", p + ".bias"}, p), "pads", {1, 1, 1, 1});
    const std::string bn = "bn" + std::to_string(i);
    AddInit(g, bn + ".scale", {c}, rng, 0.0f, 1.0f);
    AddInit(g, bn + ".bias", {c}, rng, 0.0f);
    AddInit(g, bn + ".mean", {c}, rng, 0.0f);
    AddInit(g, bn + ".var", {c}, rng, 0.0f, 1.0f);
    AddNode(g, "BatchNormalization", {p, bn + ".scale", bn + ".bias", bn + ".mean", bn + ".var"},
            bn);
    AddNode(g, "Relu", {bn}, "relu" + std::to_string(i));
    auto* pool = AddNode(g, "MaxPool", {"relu" + std::to_string(i)}, "pool" + std::to_string(i));
    Ints(pool, "kernel_shape", {2, 2});
    Ints(pool, "strides", {2, 2});
    x = "pool" + std::to_string(i);
    c_in = c;
    side /= 2;
  }
  AddNode(g, "Flatten", {x}, "flat");
  const int64_t features = c_in * side * side;
  AddInit(g, "fc.weight", {10, features}, rng, std::sqrt(1.0f / features));
  AddInit(g, "fc.bias", {10}, rng, 0.0f);
  auto* fc = AddNode(g, "Gemm", {"flat", "fc.weight", "fc.bias"}, "logits");
  auto* tb = fc->add_attribute();
  tb->set_name("transB");
  tb->set_type(::onnx::AttributeProto::INT);
  tb->set_i(1);
  auto* out = g->add_output();
  out->set_name("logits");
  auto* ot = out->mutable_type()->mutable_tensor_type();
  ot->set_elem_type(::onnx::TensorProto::FLOAT);
  ot->mutable_shape()->add_dim()->set_dim_param("N");
  ot->mutable_shape()->add_dim()->set_dim_value(10);
  std::string bytes;
  m.SerializeToString(&bytes);
  return bytes;
}

}  // namespace tern::onnx
