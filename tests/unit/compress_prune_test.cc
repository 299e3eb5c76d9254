// Pruning: the exact sparsity of unstructured pruning, and structured channel pruning that keeps
// outputs unchanged when the removed channels were already zero, shrinks the file, and leaves
// alone the layers it cannot rewire.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "compress/prune.h"
#include "compress/report.h"
#include "model_builder.h"
#include "onnx/onnx_import.h"

namespace tern {
namespace {

std::vector<float> Normal(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void SetInts(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}

void SetInt(::onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}

/// Zeroes the given output channels (axis 0) of a weight of `per_channel` values per channel.
void ZeroChannels(std::vector<float>& w, int64_t per_channel, std::initializer_list<int> channels) {
  for (int c : channels)
    for (int64_t i = 0; i < per_channel; ++i) w[static_cast<size_t>(c * per_channel + i)] = 0;
}

/// x[1,3,8,8] -> Conv1(8, bias, 6x6) -> BN -> Relu -> MaxPool 2 -> Conv2(6, pad 1, bias) -> Relu ->
/// Mul(per-channel constant) -> Flatten -> Gemm(transB, 5) -> y[1,5]. With `dead` set, conv1
/// channels 1, 4, 6 and conv2 channels 0, 3 have zero weights and biases (and BN drives conv1's
/// dead channels negative), so after their Relu they are exactly zero.
std::string ChainModel(bool dead) {
  test::ModelBuilder b(13);
  b.Input("x", 1, {1, 3, 8, 8}).Output("y", 1, {1, 5});
  std::vector<float> w1 = Normal(8 * 27, 1, 0.3f), b1 = Normal(8, 2, 0.1f);
  std::vector<float> w2 = Normal(6 * 8 * 9, 3, 0.2f), b2 = Normal(6, 4, 0.1f);
  std::vector<float> bn_bias = Normal(8, 5, 0.1f);
  if (dead) {
    ZeroChannels(w1, 27, {1, 4, 6});
    ZeroChannels(b1, 1, {1, 4, 6});
    for (int c : {1, 4, 6}) bn_bias[static_cast<size_t>(c)] = -0.5f;
    ZeroChannels(w2, 72, {0, 3});
    ZeroChannels(b2, 1, {0, 3});
  }
  std::vector<float> scale(8), mean(8, 0.0f), var(8);
  for (int c = 0; c < 8; ++c) {
    scale[static_cast<size_t>(c)] = 0.5f + 0.1f * static_cast<float>(c);
    var[static_cast<size_t>(c)] = 1.0f + 0.05f * static_cast<float>(c);
  }
  b.FloatInit("w1", {8, 3, 3, 3}, w1).FloatInit("b1", {8}, b1);
  b.FloatInit("bn_scale", {8}, scale).FloatInit("bn_bias", {8}, bn_bias);
  b.FloatInit("bn_mean", {8}, mean).FloatInit("bn_var", {8}, var);
  b.FloatInit("w2", {6, 8, 3, 3}, w2).FloatInit("b2", {6}, b2);
  b.FloatInit("gain", {6, 1, 1}, {1.0f, 1.5f, 0.5f, 2.0f, 1.0f, 0.75f});
  b.FloatInit("wg", {5, 6 * 9}, Normal(5 * 54, 6, 0.2f)).FloatInit("bg", {5}, Normal(5, 7));
  b.Node("Conv", {"x", "w1", "b1"}, {"c1"}, "conv1");
  b.Node("BatchNormalization", {"c1", "bn_scale", "bn_bias", "bn_mean", "bn_var"}, {"n1"}, "bn");
  b.Node("Relu", {"n1"}, {"r1"}, "relu1");
  auto* pool = b.Node("MaxPool", {"r1"}, {"p1"}, "pool");
  SetInts(pool, "kernel_shape", {2, 2});
  SetInts(pool, "strides", {2, 2});
  SetInts(b.Node("Conv", {"p1", "w2", "b2"}, {"c2"}, "conv2"), "pads", {1, 1, 1, 1});
  b.Node("Relu", {"c2"}, {"r2"}, "relu2");
  b.Node("Mul", {"r2", "gain"}, {"m2"}, "gain");
  b.Node("Flatten", {"m2"}, {"f"}, "flatten");
  SetInt(b.Node("Gemm", {"f", "wg", "bg"}, {"y"}, "fc"), "transB", 1);
  return b.Bytes();
}

ir::Model Import(const std::string& bytes) {
  auto m = onnx::ImportModel(bytes.data(), bytes.size(), onnx::ImportOptions{});
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

const Tensor& Init(const ir::Model& m, const std::string& name) {
  return m.graph->values[static_cast<size_t>(m.graph->FindValue(name))].initializer;
}

std::vector<compress::InputSet> Inputs() {
  std::vector<compress::InputSet> sets;
  for (uint32_t s = 0; s < 3; ++s)
    sets.push_back(
        {Value(Tensor::FromVector(DataType::kFloat32, Shape{1, 3, 8, 8}, Normal(192, 40 + s)))});
  return sets;
}

TEST(Prune, ZeroSmallestHitsTheExactCount) {
  for (double s : {0.0, 0.1, 0.5, 0.73, 1.0}) {
    std::vector<float> v = Normal(1001, 9);
    v[10] = v[11] = v[12] = 0.5f;  // ties must not change the count
    Tensor t = Tensor::FromVector(DataType::kFloat32, Shape{7, 143}, v);
    const int64_t zeroed = compress::ZeroSmallest(t, s);
    const int64_t want = static_cast<int64_t>(std::floor(s * 1001 + 0.5));
    EXPECT_EQ(zeroed, want);
    int64_t zeros = 0;
    float max_removed = 0, min_kept = INFINITY;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const float orig = std::fabs(v[static_cast<size_t>(i)]);
      if (t.data<float>()[i] == 0) {
        ++zeros;
        max_removed = std::max(max_removed, orig);
      } else {
        EXPECT_EQ(t.data<float>()[i], v[static_cast<size_t>(i)]);  // kept weights are untouched
        min_kept = std::min(min_kept, orig);
      }
    }
    EXPECT_EQ(zeros, want) << "sparsity " << s;
    if (zeros > 0 && zeros < t.numel()) {
      EXPECT_LE(max_removed, min_kept);
    }
  }
}

TEST(Prune, UnstructuredReachesTheSparsityInEveryWeight) {
  ir::Model m = Import(ChainModel(false));
  compress::PruneOptions o;
  o.sparsity = 0.6;
  compress::PruneSummary summary;
  auto p = compress::Prune(m, o, &summary);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(summary.pruned_nodes, 3);
  for (const char* name : {"w1", "w2", "wg"}) {
    const Tensor& t = Init(*p, name);
    int64_t zeros = 0;
    for (int64_t i = 0; i < t.numel(); ++i) zeros += t.data<float>()[i] == 0;
    EXPECT_EQ(zeros, static_cast<int64_t>(std::floor(0.6 * static_cast<double>(t.numel()) + 0.5)))
        << name;
    EXPECT_EQ(t.shape(), Init(m, name).shape());
  }
  for (const char* name : {"b1", "b2", "bg", "bn_scale"}) {  // biases and BN are not weights
    const Tensor& t = Init(*p, name);
    for (int64_t i = 0; i < t.numel(); ++i)
      EXPECT_EQ(t.data<float>()[i], Init(m, name).data<float>()[i]) << name;
  }
  // The input model is not modified.
  const Tensor& w1 = Init(m, "w1");
  int64_t zeros = 0;
  for (int64_t i = 0; i < w1.numel(); ++i) zeros += w1.data<float>()[i] == 0;
  EXPECT_EQ(zeros, 0);
}

TEST(Prune, StructuredRemovesDeadChannelsWithoutChangingOutputs) {
  const std::string bytes = ChainModel(true);
  ir::Model m = Import(bytes);
  compress::PruneOptions o;
  o.sparsity = 0.375;  // 3 of conv1's 8 channels, 2 of conv2's 6
  o.structured = true;
  compress::PruneSummary summary;
  auto p = compress::Prune(m, o, &summary);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(summary.pruned_nodes, 2);
  EXPECT_EQ(summary.removed_channels, 5);
  ASSERT_EQ(summary.skipped.size(), 1u);  // fc: its channels are the graph output
  EXPECT_NE(summary.skipped[0].find("graph output"), std::string::npos) << summary.skipped[0];
  EXPECT_EQ(Init(*p, "w1").shape(), (Shape{5, 3, 3, 3}));
  EXPECT_EQ(Init(*p, "b1").shape(), (Shape{5}));
  for (const char* bn : {"bn_scale", "bn_bias", "bn_mean", "bn_var"})
    EXPECT_EQ(Init(*p, bn).shape(), (Shape{5})) << bn;
  EXPECT_EQ(Init(*p, "w2").shape(), (Shape{4, 5, 3, 3}));
  EXPECT_EQ(Init(*p, "gain").shape(), (Shape{4, 1, 1}));
  EXPECT_EQ(Init(*p, "wg").shape(), (Shape{5, 4 * 9}));
  // The kept channels are the live ones, in order: conv1 keeps 0, 2, 3, 5, 7.
  EXPECT_EQ(Init(*p, "b1").data<float>()[1], Init(m, "b1").data<float>()[2]);
  EXPECT_EQ(Init(*p, "gain").data<float>()[0], 1.5f);  // conv2 keeps 1, 2, 4, 5

  auto out = onnx::ExportModel(*p);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_LT(out->size(), bytes.size() * 0.75);
  auto e = compress::CompareModels(bytes, *out, Inputs(), 1);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_LT((*e)[0].max_abs, 1e-5);
  EXPECT_GT((*e)[0].sqnr_db, 100.0);
}

TEST(Prune, StructuredChangesOutputsWhenLiveChannelsGo) {
  // The same rewiring on a model whose channels all matter: outputs move (the comparison above
  // can fail), but the model stays valid and runs.
  const std::string bytes = ChainModel(false);
  compress::PruneOptions o;
  o.sparsity = 0.375;
  o.structured = true;
  auto p = compress::Prune(Import(bytes), o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto out = onnx::ExportModel(*p);
  ASSERT_TRUE(out.ok());
  auto e = compress::CompareModels(bytes, *out, Inputs(), 1);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_GT((*e)[0].max_abs, 1e-3);
}

TEST(Prune, StructuredShrinksGemmChains) {
  // x[2,6] -> Gemm(W1[6,8], b1) -> Relu -> Gemm(W2[8,3], b2) -> y. Hidden units 2 and 5 have
  // zero weights and a negative bias: Relu makes them exactly 0, so removing them is exact.
  test::ModelBuilder b(13);
  b.Input("x", 1, {2, 6}).Output("y", 1, {2, 3});
  std::vector<float> w1 = Normal(48, 1), b1 = Normal(8, 2, 0.1f);
  for (int k = 0; k < 6; ++k)
    w1[static_cast<size_t>(k * 8 + 2)] = w1[static_cast<size_t>(k * 8 + 5)] = 0;
  b1[2] = b1[5] = -1.0f;
  b.FloatInit("w1", {6, 8}, w1).FloatInit("b1", {8}, b1);
  b.FloatInit("w2", {8, 3}, Normal(24, 3)).FloatInit("b2", {3}, Normal(3, 4));
  b.Node("Gemm", {"x", "w1", "b1"}, {"h"}, "fc1");
  b.Node("Relu", {"h"}, {"r"}, "relu");
  b.Node("Gemm", {"r", "w2", "b2"}, {"y"}, "fc2");
  const std::string bytes = b.Bytes();
  compress::PruneOptions o;
  o.sparsity = 0.25;
  o.structured = true;
  compress::PruneSummary summary;
  auto p = compress::Prune(Import(bytes), o, &summary);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(summary.removed_channels, 2);
  EXPECT_EQ(Init(*p, "w1").shape(), (Shape{6, 6}));
  EXPECT_EQ(Init(*p, "b1").shape(), (Shape{6}));
  EXPECT_EQ(Init(*p, "w2").shape(), (Shape{6, 3}));
  auto out = onnx::ExportModel(*p);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<compress::InputSet> sets = {
      {Value(Tensor::FromVector(DataType::kFloat32, Shape{2, 6}, Normal(12, 50)))}};
  auto e = compress::CompareModels(bytes, *out, sets, 1);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_LT((*e)[0].max_abs, 1e-5);
}

TEST(Prune, StructuredSkipsLayersItCannotRewire) {
  // conv -> Add(conv, x) -> y: the residual's other operand has the channels too.
  test::ModelBuilder b(13);
  b.Input("x", 1, {1, 4, 5, 5}).Output("y", 1, {1, 4, 5, 5});
  b.FloatInit("w", {4, 4, 1, 1}, Normal(16, 1));
  b.Node("Conv", {"x", "w"}, {"c"}, "conv");
  b.Node("Add", {"c", "x"}, {"y"}, "residual");
  ir::Model m = Import(b.Bytes());
  compress::PruneOptions o;
  o.sparsity = 0.5;
  o.structured = true;
  compress::PruneSummary summary;
  auto p = compress::Prune(m, o, &summary);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(summary.pruned_nodes, 0);
  ASSERT_EQ(summary.skipped.size(), 1u);
  EXPECT_NE(summary.skipped[0].find("not a constant"), std::string::npos) << summary.skipped[0];
  EXPECT_EQ(Init(*p, "w").shape(), (Shape{4, 4, 1, 1}));
}

}  // namespace
}  // namespace tern
