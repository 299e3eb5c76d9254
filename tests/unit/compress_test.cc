// The exporter (round trips) and the quantizers on small built models: structure of the output,
// accuracy against the float model, and the calibration helpers.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "compress/calibrate.h"
#include "compress/eval.h"
#include "compress/quantize.h"
#include "compress/report.h"
#include "model_builder.h"
#include "onnx/onnx_import.h"
#include "tern/session.h"

namespace tern {
namespace {

using test::ModelBuilder;

std::vector<float> Random(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// x[1,3,8,8] -> Conv(8 out, 3x3, bias) -> Relu -> Flatten -> MatMul[512,10] -> Gemm(10->4).
std::string SmallCnn(int64_t opset = 13) {
  ModelBuilder b(opset);
  b.Input("x", 1, {1, 3, 8, 8}).Output("y", 1, {1, 4});
  b.FloatInit("w", {8, 3, 3, 3}, Random(8 * 27, 1, 0.3f));
  b.FloatInit("bias", {8}, Random(8, 2, 0.1f));
  b.FloatInit("m", {512, 10}, Random(5120, 3, 0.05f));
  b.FloatInit("g", {4, 10}, Random(40, 4, 0.3f));
  b.FloatInit("gc", {4}, Random(4, 5, 0.1f));
  auto* conv = b.Node("Conv", {"x", "w", "bias"}, {"c"}, "conv");
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(::onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  b.Node("Relu", {"c"}, {"r"}, "relu");
  b.Node("Flatten", {"r"}, {"f"}, "flatten");
  b.Node("MatMul", {"f", "m"}, {"mm"}, "matmul");
  auto* gemm = b.Node("Gemm", {"mm", "g", "gc"}, {"y"}, "gemm");
  auto* tb = gemm->add_attribute();
  tb->set_name("transB");
  tb->set_type(::onnx::AttributeProto::INT);
  tb->set_i(1);
  return b.Bytes();
}

compress::InputSet Input(uint32_t seed) {
  auto v = Random(3 * 64, seed);
  return {Value(Tensor::FromVector(DataType::kFloat32, Shape{1, 3, 8, 8}, v))};
}

ir::Model Import(const std::string& bytes) {
  auto m = onnx::ImportModel(bytes.data(), bytes.size(), onnx::ImportOptions{});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

std::map<std::string, int> Ops(const ir::Model& m) {
  std::map<std::string, int> ops;
  for (const auto& n : m.graph->nodes) ++ops[n.op_type];
  return ops;
}

double Sqnr(const std::string& ref, const std::string& got, int sets) {
  std::vector<compress::InputSet> inputs;
  for (int i = 0; i < sets; ++i) inputs.push_back(Input(100 + i));
  auto e = compress::CompareModels(ref, got, inputs, 1);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  return e.ok() ? (*e)[0].sqnr_db : 0;
}

TEST(Export, RoundTripKeepsGraphAndOutputs) {
  const std::string bytes = SmallCnn();
  ir::Model m = Import(bytes);
  auto out = onnx::ExportModel(m);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ir::Model again = Import(*out);
  EXPECT_EQ(Ops(m), Ops(again));
  EXPECT_EQ(m.opsets, again.opsets);
  EXPECT_TRUE(std::isinf(Sqnr(bytes, *out, 2)));  // bit-identical outputs
  auto twice = onnx::ExportModel(again);
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(*out, *twice);  // export is deterministic and a fixed point
}

TEST(Export, ConvertOpsetUpgrades) {
  ir::Model m = Import(SmallCnn(11));
  auto up = onnx::ConvertOpset(m, 13);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->opsets.at(""), 13);
}

TEST(Quantize, WeightSymmetricPerChannel) {
  std::vector<float> w = {1.0f, -0.5f, 0.25f, 0, 0, 0, 100.0f, -3.0f, 7.0f};
  Tensor t = Tensor::FromVector(DataType::kFloat32, Shape{3, 3}, w);
  auto r = compress::QuantizeWeightSymmetric(t, 0);
  ASSERT_TRUE(r.ok());
  const auto& [q, s] = *r;
  EXPECT_FLOAT_EQ(s.data<float>()[0], 1.0f / 127);
  EXPECT_FLOAT_EQ(s.data<float>()[1], 1.0f);  // all-zero channel keeps an exact scale
  EXPECT_FLOAT_EQ(s.data<float>()[2], 100.0f / 127);
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 3; ++i) {
      const float back = q.data<int8_t>()[c * 3 + i] * s.data<float>()[c];
      EXPECT_LE(std::fabs(back - w[c * 3 + i]), s.data<float>()[c] / 2 + 1e-6f);
    }
  EXPECT_EQ(q.data<int8_t>()[6], 127);
  auto per_tensor = compress::QuantizeWeightSymmetric(t, -1);
  ASSERT_TRUE(per_tensor.ok());
  EXPECT_EQ(per_tensor->second.numel(), 1);
}

TEST(Quantize, Fp16HalvesWeightsAndStaysClose) {
  const std::string bytes = SmallCnn();
  ir::Model m = Import(bytes);
  compress::QuantizeOptions o;
  o.mode = compress::QuantMode::kFp16;
  auto q = compress::Quantize(m, o, {});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(Ops(*q)["Cast"], 3);  // w, m, g; the 8- and 4-element biases stay float32
  EXPECT_LT(compress::WeightBytes(*q), compress::WeightBytes(m) * 0.52);
  auto out = onnx::ExportModel(*q);
  ASSERT_TRUE(out.ok());
  EXPECT_GT(Sqnr(bytes, *out, 2), 50);
}

TEST(Quantize, Int8StaticWritesQdqAndIsAccurate) {
  const std::string bytes = SmallCnn();
  ir::Model m = Import(bytes);
  std::vector<compress::InputSet> calib;
  for (int i = 0; i < 4; ++i) calib.push_back(Input(i));
  for (auto method :
       {compress::CalibrationMethod::kMinMax, compress::CalibrationMethod::kPercentile,
        compress::CalibrationMethod::kEntropy}) {
    compress::QuantizeOptions o;
    o.mode = compress::QuantMode::kInt8Static;
    o.per_channel = true;
    o.calibration.method = method;
    compress::QuantizeSummary summary;
    auto q = compress::Quantize(m, o, calib, &summary);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    EXPECT_EQ(summary.quantized_nodes, 3);
    auto ops = Ops(*q);
    EXPECT_EQ(ops["QuantizeLinear"], 3);
    EXPECT_EQ(ops["DequantizeLinear"], 7);  // 3 activations, 3 weights, the Conv bias
    auto out = onnx::ExportModel(*q);
    ASSERT_TRUE(out.ok());
    // Entropy calibration clips tails hard on this little data (4 sets of 192 values); it
    // must still produce a working model, but only the other methods promise 25 dB here.
    const double floor = method == compress::CalibrationMethod::kEntropy ? 3 : 25;
    EXPECT_GT(Sqnr(bytes, *out, 3), floor) << static_cast<int>(method);
    EXPECT_LT(compress::WeightBytes(*q), compress::WeightBytes(m) * 0.3);
  }
}

TEST(Quantize, ExclusionsAndOpsetUpgrade) {
  ir::Model m = Import(SmallCnn(11));
  compress::QuantizeOptions o;
  o.mode = compress::QuantMode::kInt8Static;
  o.exclude_ops = {"Gemm"};
  o.exclude_nodes = {"conv"};
  compress::QuantizeSummary summary;
  auto q = compress::Quantize(m, o, {Input(1)}, &summary);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(summary.quantized_nodes, 1);
  EXPECT_EQ(summary.opset_before, 11);
  EXPECT_EQ(q->opsets.at(""), 13);
}

TEST(Quantize, Int8DynamicUsesMatMulInteger) {
  const std::string bytes = SmallCnn();
  ir::Model m = Import(bytes);
  for (bool per_channel : {false, true}) {
    compress::QuantizeOptions o;
    o.mode = compress::QuantMode::kInt8Dynamic;
    o.per_channel = per_channel;
    auto q = compress::Quantize(m, o, {});
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    auto ops = Ops(*q);
    EXPECT_EQ(ops["MatMulInteger"], 2);
    EXPECT_EQ(ops["DynamicQuantizeLinear"], 2);
    EXPECT_EQ(ops["Gemm"], 0);
    EXPECT_EQ(ops["MatMul"], 0);
    auto out = onnx::ExportModel(*q);
    ASSERT_TRUE(out.ok());
    EXPECT_GT(Sqnr(bytes, *out, 3), 25);
  }
}

TEST(Quantize, Int8StaticNeedsCalibration) {
  ir::Model m = Import(SmallCnn());
  compress::QuantizeOptions o;
  auto q = compress::Quantize(m, o, {});
  EXPECT_FALSE(q.ok());
}

TEST(Calibrate, EntropyClipsLongTails) {
  // Most mass in the first 200 bins and a thin tail to 2048: the threshold cuts the tail.
  std::vector<double> hist(2048, 0.0);
  for (int i = 0; i < 200; ++i) hist[i] = 1000.0 - 4 * i;
  for (int i = 200; i < 2048; i += 50) hist[i] = 1;
  const float t = compress::EntropyThreshold(hist, 0.01f);
  EXPECT_LT(t, 10.0f);
  EXPECT_GE(t, 1.28f);
  // A flat histogram has no tail worth clipping.
  std::vector<double> flat(2048, 1.0);
  EXPECT_GT(compress::EntropyThreshold(flat, 0.01f), 18.0f);
}

TEST(Eval, IdxRoundTripAndBadHeader) {
  auto dir = std::filesystem::temp_directory_path() / "tern_idx_test";
  std::filesystem::create_directories(dir);
  auto write = [](const std::filesystem::path& p, std::vector<unsigned char> bytes) {
    std::ofstream(p, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  };
  write(dir / "img", {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 51, 102});
  write(dir / "lab", {0, 0, 8, 1, 0, 0, 0, 2, 7, 3});
  auto d = compress::LoadIdx((dir / "img").string(), (dir / "lab").string());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->images.shape(), (Shape{2, 1, 1, 2}));
  EXPECT_FLOAT_EQ(d->images.data<float>()[1], 1.0f);
  EXPECT_FLOAT_EQ(d->images.data<float>()[2], 0.2f);
  EXPECT_EQ(d->labels, (std::vector<uint8_t>{7, 3}));
  write(dir / "short", {0, 0, 8, 3, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 2, 0});
  EXPECT_FALSE(compress::LoadIdx((dir / "short").string(), (dir / "lab").string()).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tern
