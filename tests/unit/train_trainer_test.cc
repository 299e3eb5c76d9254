// Trainer, optimizers, data readers and the initializer rewriter of src/train and src/onnx.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "model_builder.h"
#include "onnx/initializer_update.h"
#include "onnx/onnx_import.h"
#include "train/fit.h"

namespace tern::test {
namespace {

namespace fs = std::filesystem;

Tensor Floats(const Shape& s, const std::vector<float>& v) {
  return Tensor::FromVector<float>(DataType::kFloat32, s, v);
}

TEST(TrainOptimizer, SgdMomentumFollowsTheRecurrence) {
  train::OptimizerConfig c;
  c.learning_rate = 0.1f;
  c.momentum = 0.9f;
  std::vector<Tensor> p = {Floats(Shape{2}, {1.0f, -2.0f})};
  std::vector<Tensor> g = {Floats(Shape{2}, {0.5f, 0.25f})};
  auto opt = train::Optimizer::Create(c, p).value();
  double expect[2] = {1.0, -2.0}, vel[2] = {0, 0};
  const double grad[2] = {0.5, 0.25};
  for (int step = 0; step < 3; ++step) {
    ASSERT_TRUE(opt->Step(p, g).ok());
    for (int i = 0; i < 2; ++i) {
      vel[i] = 0.9 * vel[i] + grad[i];
      expect[i] -= 0.1 * vel[i];
      EXPECT_NEAR(p[0].data<float>()[i], expect[i], 1e-6);
    }
  }
}

TEST(TrainOptimizer, AdamFirstStepIsLearningRateTimesSign) {
  train::OptimizerConfig c;
  c.kind = train::OptimizerConfig::Kind::kAdam;
  c.learning_rate = 0.01f;
  std::vector<Tensor> p = {Floats(Shape{3}, {0.0f, 0.0f, 0.0f})};
  std::vector<Tensor> g = {Floats(Shape{3}, {3.0f, -0.001f, 0.0f})};
  auto opt = train::Optimizer::Create(c, p).value();
  ASSERT_TRUE(opt->Step(p, g).ok());
  EXPECT_NEAR(p[0].data<float>()[0], -0.01f, 1e-6);
  EXPECT_NEAR(p[0].data<float>()[1], 0.01f, 1e-4);
  EXPECT_EQ(p[0].data<float>()[2], 0.0f);
}

TEST(TrainOptimizer, RejectsMismatchedGradients) {
  std::vector<Tensor> p = {Floats(Shape{2}, {1, 2})};
  auto opt = train::Optimizer::Create({}, p).value();
  std::vector<Tensor> g = {Floats(Shape{3}, {1, 2, 3})};
  EXPECT_FALSE(opt->Step(p, g).ok());
}

// y = x W^T + b with 3 inputs and 2 outputs, initial weights 0.
std::string LinearModel() {
  ModelBuilder m;
  m.Input("x", ::onnx::TensorProto::FLOAT, {-1, 3})
      .Output("y", ::onnx::TensorProto::FLOAT, {-1, 2});
  m.FloatInit("w", {2, 3}, {0, 0, 0, 0, 0, 0}).FloatInit("b", {2}, {0, 0});
  auto* n = m.Node("Gemm", {"x", "w", "b"}, {"y"});
  auto* a = n->add_attribute();
  a->set_name("transB");
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(1);
  return m.Bytes();
}

train::Dataset LinearData(int n) {
  std::mt19937 rng(3);
  std::normal_distribution<float> d;
  std::vector<float> x(static_cast<size_t>(n) * 3), y(static_cast<size_t>(n) * 2);
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < 3; ++k) x[i * 3 + k] = d(rng);
    y[i * 2] = 2 * x[i * 3] - x[i * 3 + 2] + 0.5f;
    y[i * 2 + 1] = x[i * 3 + 1] - 1;
  }
  return {Floats(Shape{n, 3}, x), Floats(Shape{n, 2}, y)};
}

TEST(TrainTrainer, MseLinearRegressionConverges) {
  const std::string bytes = LinearModel();
  auto model = onnx::ImportModel(bytes.data(), bytes.size(), {});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  train::TrainerOptions o;
  o.graph.loss = train::LossKind::kMeanSquaredError;
  o.optimizer.learning_rate = 0.1f;
  o.optimizer.momentum = 0.5f;
  auto t = train::Trainer::Create(std::move(model).value(), o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  train::FitOptions fo;
  fo.epochs = 20;
  fo.batch = 16;
  auto r = train::Fit(*t.value(), LinearData(128), nullptr, fo);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r.value().front().mean_loss, 0.5);
  EXPECT_LT(r.value().back().mean_loss, 1e-4);
  auto snap = t.value()->Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].first, "w");
  EXPECT_NEAR(snap[0].second.data<float>()[0], 2.0f, 1e-2);
  EXPECT_NEAR(snap[1].second.data<float>()[1], -1.0f, 1e-2);
  EXPECT_GT(t.value()->training_arena_bytes(), 0u);
}

TEST(TrainTrainer, OnlyListedInitializersChange) {
  const std::string bytes = LinearModel();
  train::TrainerOptions o;
  o.graph.loss = train::LossKind::kMeanSquaredError;
  o.graph.trainable = {"b"};
  auto t = train::Trainer::Create(onnx::ImportModel(bytes.data(), bytes.size(), {}).value(), o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  train::Dataset d = LinearData(8);
  ASSERT_TRUE(t.value()->Step(d.inputs, d.labels).ok());
  auto snap = t.value()->Snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].first, "b");
  EXPECT_NE(snap[0].second.data<float>()[0], 0.0f);
  o.graph.trainable = {"nope"};
  EXPECT_FALSE(
      train::Trainer::Create(onnx::ImportModel(bytes.data(), bytes.size(), {}).value(), o).ok());
}

TEST(TrainOnnx, UpdateInitializersRoundTrip) {
  const std::string bytes = LinearModel();
  Tensor nb = Floats(Shape{2}, {1.5f, -7.0f});
  auto updated = onnx::UpdateInitializers(bytes, {{"b", nb}});
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  auto model = onnx::ImportModel(updated.value().data(), updated.value().size(), {});
  ASSERT_TRUE(model.ok());
  const ir::Graph& g = *model.value().graph;
  const Tensor& b = g.values[g.FindValue("b")].initializer;
  EXPECT_EQ(b.data<float>()[1], -7.0f);
  EXPECT_EQ(g.nodes.size(), 1u);
  EXPECT_FALSE(onnx::UpdateInitializers(bytes, {{"b", Floats(Shape{3}, {1, 2, 3})}}).ok());
  EXPECT_FALSE(onnx::UpdateInitializers(bytes, {{"zzz", nb}}).ok());
  EXPECT_FALSE(onnx::UpdateInitializers("not a model", {{"b", nb}}).ok());
}

TEST(TrainData, ExampleFoldersConcatenate) {
  const fs::path dir =
      fs::temp_directory_path() / ("tern_train_data_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  train::Dataset d = LinearData(5);
  for (int k = 0; k < 2; ++k) {
    fs::create_directories(dir / ("test_data_set_" + std::to_string(k)));
    const int64_t rows = k == 0 ? 2 : 3;
    Tensor x = Tensor::Wrap(DataType::kFloat32, Shape{rows, 3}, d.inputs.data<float>() + k * 6);
    Tensor y = Tensor::Wrap(DataType::kFloat32, Shape{rows, 2}, d.labels.data<float>() + k * 4);
    std::ofstream(dir / ("test_data_set_" + std::to_string(k)) / "input_0.pb")
        << onnx::SerializeValue(Value(x), "x", false).value();
    std::ofstream(dir / ("test_data_set_" + std::to_string(k)) / "output_0.pb")
        << onnx::SerializeValue(Value(y), "y", false).value();
  }
  auto loaded = train::LoadExampleFolders(dir.string());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded.value().inputs.shape(), (Shape{5, 3}));
  EXPECT_EQ(loaded.value().labels.data<float>()[9], d.labels.data<float>()[9]);
  fs::remove_all(dir);
  EXPECT_FALSE(train::LoadExampleFolders(dir.string()).ok());
}

// The short version of the Fashion-MNIST run (the full one is documented in the README).
TEST(TrainFashionMnist, SmallSubsetLossDecreases) {
  if (!fs::exists(train::kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  auto train_set = train::LoadIdxDataset(train::kFashionMnistDir, "train", 768);
  ASSERT_TRUE(train_set.ok()) << train_set.status().ToString();
  EXPECT_EQ(train_set.value().inputs.shape(), (Shape{768, 1, 28, 28}));
  auto test_set = train::LoadIdxDataset(train::kFashionMnistDir, "t10k", 256);
  ASSERT_TRUE(test_set.ok());
  const std::string bytes = onnx::BuildSmallImageCnn(5, 4, 8);
  train::TrainerOptions o;
  o.optimizer.kind = train::OptimizerConfig::Kind::kAdam;
  o.optimizer.learning_rate = 0.003f;
  auto t = train::Trainer::Create(onnx::ImportModel(bytes.data(), bytes.size(), {}).value(), o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  train::FitOptions fo;
  fo.epochs = 2;
  fo.batch = 32;
  auto r = train::Fit(*t.value(), train_set.value(), &test_set.value(), fo);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT(r.value()[1].mean_loss, r.value()[0].mean_loss);
  EXPECT_GT(r.value()[1].test_accuracy, 0.4);  // chance is 0.1
}

}  // namespace
}  // namespace tern::test
