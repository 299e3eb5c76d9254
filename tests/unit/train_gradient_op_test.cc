// The ONNX Gradient operator (ai.onnx.preview.training) expands into backward nodes at load:
// results are checked against hand-derived gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "model_builder.h"
#include "tern/session.h"

namespace tern {
namespace {

using test::ModelBuilder;
constexpr int32_t kF = ::onnx::TensorProto::FLOAT;

::onnx::NodeProto* GradientNode(ModelBuilder& b, const std::vector<std::string>& xs,
                                const std::vector<std::string>& zs, const std::string& y,
                                const std::vector<std::string>& outputs) {
  std::vector<std::string> inputs = xs;
  inputs.insert(inputs.end(), zs.begin(), zs.end());
  auto* n = b.Node("Gradient", inputs, outputs, "grad");
  n->set_domain("ai.onnx.preview.training");
  auto* a = n->add_attribute();
  a->set_name("xs");
  a->set_type(::onnx::AttributeProto::STRINGS);
  for (const auto& x : xs) a->add_strings(x);
  if (!zs.empty()) {
    auto* z = n->add_attribute();
    z->set_name("zs");
    z->set_type(::onnx::AttributeProto::STRINGS);
    for (const auto& x : zs) z->add_strings(x);
  }
  auto* ya = n->add_attribute();
  ya->set_name("y");
  ya->set_type(::onnx::AttributeProto::STRING);
  ya->set_s(y);
  return n;
}

void AddTrainingDomain(ModelBuilder& b) {
  auto* os = b.model().add_opset_import();
  os->set_domain("ai.onnx.preview.training");
  os->set_version(1);
}

Tensor Floats(const Shape& shape, std::vector<float> v) {
  Tensor t = Tensor::Allocate(DataType::kFloat32, shape).value();
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = v[static_cast<size_t>(i)];
  return t;
}

// y = Tanh(x @ W) with W an input; Z = x is held constant through zs for the second output set.
TEST(GradientOp, MatMulTanhMatchesHandDerivedGradients) {
  ModelBuilder b;
  AddTrainingDomain(b);
  b.Input("x", kF, {2, 3}).Input("w", kF, {3, 2});
  b.Output("y", kF, {2, 2}).Output("dx", kF, {2, 3}).Output("dw", kF, {3, 2});
  b.Node("MatMul", {"x", "w"}, {"h"});
  b.Node("Tanh", {"h"}, {"y"});
  GradientNode(b, {"x", "w"}, {}, "y", {"dx", "dw"});
  const std::string bytes = b.Bytes();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const std::vector<float> x = {0.5f, -1.f, 2.f, 0.25f, 1.5f, -0.75f};
  const std::vector<float> w = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f};
  std::vector<Value> out;
  std::vector<Value> in = {Value(Floats({2, 3}, x)), Value(Floats({3, 2}, w))};
  ASSERT_TRUE((*s)->Run(in, &out).ok());
  ASSERT_EQ(out.size(), 3u);
  // g = 1 - tanh(h)^2; dx = g @ W^T; dW = x^T @ g.
  float g[2][2];
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      float h = 0;
      for (int k = 0; k < 3; ++k) h += x[i * 3 + k] * w[k * 2 + j];
      g[i][j] = 1.f - std::tanh(h) * std::tanh(h);
    }
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 3; ++k) {
      const float want = g[i][0] * w[k * 2] + g[i][1] * w[k * 2 + 1];
      EXPECT_NEAR(out[1].tensor.data<float>()[i * 3 + k], want, 1e-5f) << i << "," << k;
    }
  for (int k = 0; k < 3; ++k)
    for (int j = 0; j < 2; ++j) {
      const float want = x[k] * g[0][j] + x[3 + k] * g[1][j];
      EXPECT_NEAR(out[2].tensor.data<float>()[k * 2 + j], want, 1e-5f) << k << "," << j;
    }
}

// Values in zs are constants; an x that y does not depend on gets zeros; a value used twice
// accumulates.
TEST(GradientOp, ZsAreConstantsAndUnusedXsGetZeros) {
  ModelBuilder b;
  AddTrainingDomain(b);
  b.Input("a", kF, {3}).Input("b", kF, {3}).Input("c", kF, {2});
  b.Output("da", kF, {3}).Output("dc", kF, {2});
  b.Node("Mul", {"a", "b"}, {"ab"});
  b.Node("Mul", {"ab", "a"}, {"y"});  // y = a^2 b: dy/da = 2ab
  GradientNode(b, {"a", "c"}, {"b"}, "y", {"da", "dc"});
  const std::string bytes = b.Bytes();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Value> out;
  std::vector<Value> in = {Value(Floats({3}, {1, 2, 3})), Value(Floats({3}, {4, 5, 6})),
                           Value(Floats({2}, {7, 8}))};
  ASSERT_TRUE((*s)->Run(in, &out).ok());
  ASSERT_EQ(out.size(), 2u);
  const float want[3] = {8, 20, 36};
  for (int i = 0; i < 3; ++i) EXPECT_FLOAT_EQ(out[0].tensor.data<float>()[i], want[i]);
  ASSERT_EQ(out[1].tensor.numel(), 2);
  for (int i = 0; i < 2; ++i) EXPECT_EQ(out[1].tensor.data<float>()[i], 0.f);
}

TEST(GradientOp, OpWithoutARuleIsNamedInTheError) {
  ModelBuilder b;
  AddTrainingDomain(b);
  b.Input("x", kF, {4}).Output("dx", kF, {4});
  b.Node("Erf", {"x"}, {"y"}, "the_erf");
  GradientNode(b, {"x"}, {}, "y", {"dx"});
  const std::string bytes = b.Bytes();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().ToString().find("the_erf"), std::string::npos) << s.status().ToString();
}

TEST(GradientOp, MalformedAttributesAreRejected) {
  ModelBuilder b;
  AddTrainingDomain(b);
  b.Input("x", kF, {4}).Output("dx", kF, {4});
  b.Node("Relu", {"x"}, {"y"});
  GradientNode(b, {"x"}, {}, "no_such_value", {"dx"});
  const std::string bytes = b.Bytes();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().ToString().find("no_such_value"), std::string::npos);
}

}  // namespace
}  // namespace tern
