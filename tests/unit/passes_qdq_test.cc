// The qdq_fusion pass on a model quantized by `tern quantize --mode int8-static` (QDQ form):
// with the pass on, Conv (with BatchNormalization folded into the weight scales, and its Relu),
// MatMul and Gemm become ai.tern QConv / QMatMul running on the cpu provider, and the outputs stay
// within quantization noise of the same file run with the pass off (the float path over
// dequantized weights).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/quantize.h"
#include "model_builder.h"
#include "onnx/onnx_import.h"
#include "tern/session.h"

namespace tern {
namespace {

using test::ModelBuilder;

std::vector<float> Uniform(size_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void Ints(::onnx::NodeProto* n, const char* name, std::vector<int64_t> v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

/// x[1,4,9,9] -> Conv(6, 3x3, pad 1) -> BatchNormalization -> Relu -> Conv(5, 1x1, stride 2)
/// -> Flatten -> MatMul[125, 12] -> Gemm(transB, 12 -> 3).
std::string QdqSource() {
  ModelBuilder b(13);
  b.Input("x", 1, {1, 4, 9, 9}).Output("y", 1, {1, 3});
  b.FloatInit("w1", {6, 4, 3, 3}, Uniform(6 * 36, 1, 0.4f));
  b.FloatInit("b1", {6}, Uniform(6, 2, 0.2f));
  b.FloatInit("gamma", {6}, Uniform(6, 3, 0.5f));
  b.FloatInit("beta", {6}, Uniform(6, 4, 0.3f));
  b.FloatInit("mean", {6}, Uniform(6, 5, 0.2f));
  std::vector<float> var = Uniform(6, 6, 0.4f);
  for (auto& v : var) v = std::fabs(v) + 0.5f;
  b.FloatInit("var", {6}, var);
  b.FloatInit("w2", {5, 6, 1, 1}, Uniform(30, 7, 0.5f));
  b.FloatInit("m", {125, 12}, Uniform(125 * 12, 8, 0.2f));
  b.FloatInit("g", {3, 12}, Uniform(36, 9, 0.4f));
  b.FloatInit("gc", {3}, Uniform(3, 10, 0.1f));
  Ints(b.Node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1"), "pads", {1, 1, 1, 1});
  b.Node("BatchNormalization", {"c1", "gamma", "beta", "mean", "var"}, {"bn"}, "bn");
  b.Node("Relu", {"bn"}, {"r"}, "relu");
  Ints(b.Node("Conv", {"r", "w2"}, {"c2"}, "conv2"), "strides", {2, 2});
  b.Node("Flatten", {"c2"}, {"f"}, "flatten");
  b.Node("MatMul", {"f", "m"}, {"mm"}, "matmul");
  auto* gemm = b.Node("Gemm", {"mm", "g", "gc"}, {"y"}, "gemm");
  auto* tb = gemm->add_attribute();
  tb->set_name("transB");
  tb->set_type(::onnx::AttributeProto::INT);
  tb->set_i(1);
  return b.Bytes();
}

Value Input(unsigned seed) {
  return Value(
      Tensor::FromVector(DataType::kFloat32, Shape{1, 4, 9, 9}, Uniform(4 * 81, seed, 1.0f)));
}

TEST(PassesQdq, Int8StaticModelRunsOnIntegerKernels) {
  const std::string src = QdqSource();
  auto m = onnx::ImportModel(src.data(), src.size(), onnx::ImportOptions{});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  compress::QuantizeOptions o;
  o.mode = compress::QuantMode::kInt8Static;
  o.per_channel = true;
  std::vector<compress::InputSet> calib;
  for (unsigned s = 0; s < 4; ++s) calib.push_back({Input(20 + s)});
  compress::QuantizeSummary summary;
  auto q = compress::Quantize(*m, o, calib, &summary);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  auto bytes = onnx::ExportModel(*q);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();

  SessionOptions on, off;
  on.providers = off.providers = {"cpu", "ref"};
  off.disabled_passes = {"qdq_fusion"};
  auto s_on = Session::LoadFromMemory(bytes->data(), bytes->size(), on);
  auto s_off = Session::LoadFromMemory(bytes->data(), bytes->size(), off);
  ASSERT_TRUE(s_on.ok()) << s_on.status().ToString();
  ASSERT_TRUE(s_off.ok()) << s_off.status().ToString();
  const auto ops_on = (*s_on)->OpHistogram();
  const auto ops_off = (*s_off)->OpHistogram();
  EXPECT_EQ(ops_on.count("ai.tern.QConv") ? ops_on.at("ai.tern.QConv") : 0, 2);
  EXPECT_EQ(ops_on.count("ai.tern.QMatMul") ? ops_on.at("ai.tern.QMatMul") : 0, 2);
  EXPECT_EQ(ops_on.count("BatchNormalization"), 0u);
  EXPECT_EQ(ops_off.count("ai.tern.QConv"), 0u);
  for (const NodePlacement& p : (*s_on)->placements()) {
    if (p.op_type == "QConv" || p.op_type == "QMatMul") {
      EXPECT_EQ(p.provider, "cpu") << p.node_name << ": " << p.reason;
    }
  }

  double signal = 0, noise = 0;
  for (unsigned s = 0; s < 3; ++s) {
    std::vector<Value> a, b;
    ASSERT_TRUE((*s_off)->Run({Input(100 + s)}, &a).ok());
    ASSERT_TRUE((*s_on)->Run({Input(100 + s)}, &b).ok());
    const Tensor& ta = a[0].tensor;
    const Tensor& tb = b[0].tensor;
    ASSERT_EQ(ta.shape(), tb.shape());
    for (int64_t i = 0; i < ta.numel(); ++i) {
      const double d = ta.data<float>()[i] - tb.data<float>()[i];
      signal += ta.data<float>()[i] * ta.data<float>()[i];
      noise += d * d;
    }
  }
  // Both paths round the same activations; they differ only where a float-rounding difference
  // moves a value across a rounding boundary.
  EXPECT_GT(10 * std::log10(signal / std::max(noise, 1e-30)), 30.0);
}

}  // namespace
}  // namespace tern
