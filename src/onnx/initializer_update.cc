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

// A model with one input "image" float32 [N,1,side,side] (opset 17).
::onnx::GraphProto* StartImageModel(::onnx::ModelProto& m, const std::string& name, int64_t side) {
  m.set_ir_version(8);
  m.set_producer_name("tern");
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name(name);
  auto* in = g->add_input();
  in->set_name("image");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  for (int64_t d : {int64_t{1}, side, side}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  return g;
}

// Gemm `out` = `x` W^T + b with W [outputs, inputs] ~ N(0, stddev) and b = 0.
void AddDense(::onnx::GraphProto* g, std::mt19937_64& rng, const std::string& x,
              const std::string& prefix, int64_t inputs, int64_t outputs, const std::string& out,
              float stddev) {
  AddInit(g, prefix + ".weight", {outputs, inputs}, rng, stddev);
  AddInit(g, prefix + ".bias", {outputs}, rng, 0.0f);
  auto* fc = AddNode(g, "Gemm", {x, prefix + ".weight", prefix + ".bias"}, out);
  auto* tb = fc->add_attribute();
  tb->set_name("transB");
  tb->set_type(::onnx::AttributeProto::INT);
  tb->set_i(1);
}

// Declares the output "logits" [N, classes] and serializes the model.
std::string FinishImageModel(::onnx::ModelProto& m, ::onnx::GraphProto* g, int64_t classes) {
  auto* out = g->add_output();
  out->set_name("logits");
  auto* ot = out->mutable_type()->mutable_tensor_type();
  ot->set_elem_type(::onnx::TensorProto::FLOAT);
  ot->mutable_shape()->add_dim()->set_dim_param("N");
  ot->mutable_shape()->add_dim()->set_dim_value(classes);
  std::string bytes;
  m.SerializeToString(&bytes);
  return bytes;
}

}  // namespace

std::string BuildSmallImageCnn(uint64_t seed, int channels1, int channels2) {
  std::mt19937_64 rng(seed);
  ::onnx::ModelProto m;
  ::onnx::GraphProto* g = StartImageModel(m, "small_image_cnn", 28);
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
  AddDense(g, rng, "flat", "fc", features, 10, "logits", std::sqrt(1.0f / features));
  return FinishImageModel(m, g, 10);
}

std::string BuildImageMlp(uint64_t seed, int side, int hidden, int classes) {
  std::mt19937_64 rng(seed);
  ::onnx::ModelProto m;
  ::onnx::GraphProto* g = StartImageModel(m, "image_mlp", side);
  AddNode(g, "Flatten", {"image"}, "flat");
  const int64_t features = static_cast<int64_t>(side) * side;
  std::string x = "flat";
  int64_t width = features;
  if (hidden > 0) {
    AddDense(g, rng, x, "fc1", width, hidden, "fc1", std::sqrt(2.0f / width));
    AddNode(g, "Relu", {"fc1"}, "relu1");
    x = "relu1";
    width = hidden;
  }
  AddDense(g, rng, x, "fc2", width, classes, "logits", std::sqrt(1.0f / width));
  return FinishImageModel(m, g, classes);
}

}  // namespace tern::onnx
