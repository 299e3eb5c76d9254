// The federated client: local training from its data sources, update and clipping, FedProx and
// SCAFFOLD corrections, deadline/interruption handling and its persistent state.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "fl/client.h"
#include "fl/local_trainer.h"
#include "onnx/initializer_update.h"
#include "onnx/onnx_import.h"

namespace tern::fl {
namespace {

namespace fs = std::filesystem;

// Two classes of 2x2 images: class 1 is bright in the top row, class 0 in the bottom row.
train::Dataset TwoClassImages(int n, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> noise(0.0f, 0.1f);
  std::vector<float> x(static_cast<size_t>(n) * 4);
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const int64_t label = i % 2;
    y[static_cast<size_t>(i)] = label;
    for (int p = 0; p < 4; ++p) {
      const bool top = p < 2;
      x[static_cast<size_t>(i) * 4 + p] = (top == (label == 1) ? 1.0f : 0.0f) + noise(rng);
    }
  }
  train::Dataset d;
  d.inputs = Tensor::FromVector<float>(DataType::kFloat32, Shape{n, 1, 2, 2}, x);
  d.labels = Tensor::FromVector<int64_t>(DataType::kInt64, Shape{n}, y);
  return d;
}

class FlClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    onnx_ = onnx::BuildImageMlp(3, 2, 0, 2);
    trainer_ = LocalTrainer::Create(onnx_).value();
    data_ = std::make_shared<const train::Dataset>(TwoClassImages(64, 1));
    model_ = std::make_shared<GlobalModel>();
    model_->onnx = onnx_;
    model_->params = trainer_->initial_params();
    model_->states = trainer_->initial_states();
  }

  FlClient MakeClient() const {
    std::vector<int64_t> all(static_cast<size_t>(data_->size()));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
    return FlClient("dev", std::make_unique<SubsetDataSource>(data_, all));
  }

  Assignment Assign(Algorithm algorithm = Algorithm::kFedAvg) const {
    Assignment a;
    a.round = 1;
    a.algorithm = algorithm;
    a.plan.epochs = 1;
    a.plan.batch = 8;
    a.plan.learning_rate = 0.1f;
    a.model = model_;
    if (algorithm == Algorithm::kScaffold)
      a.server_control = std::make_shared<const std::vector<float>>(model_->params.size(), 0.0f);
    return a;
  }

  std::string onnx_;
  std::unique_ptr<LocalTrainer> trainer_;
  std::shared_ptr<const train::Dataset> data_;
  std::shared_ptr<GlobalModel> model_;
};

TEST_F(FlClientTest, TrainsAndReportsDeltaAndExampleCount) {
  FlClient client = MakeClient();
  auto u = client.Train(Assign(), *trainer_, {}, 1);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->examples, 64);
  EXPECT_EQ(u->steps, 8);
  EXPECT_GT(L2Norm(u->delta), 0);
  // Applying the delta gives a better model than the global one.
  std::vector<float> trained = model_->params;
  for (size_t i = 0; i < trained.size(); ++i) trained[i] += u->delta[i];
  auto before = trainer_->Evaluate(model_->params, model_->states, *data_).value();
  auto after = trainer_->Evaluate(trained, model_->states, *data_).value();
  EXPECT_LT(after.loss, before.loss);
  EXPECT_GT(after.accuracy, 0.9);
}

TEST_F(FlClientTest, ClipsTheUpdateAndCapsSteps) {
  FlClient client = MakeClient();
  Assignment a = Assign();
  a.plan.clip_norm = 0.01f;
  a.plan.max_steps = 3;
  auto u = client.Train(a, *trainer_, {}, 1);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->steps, 3);
  EXPECT_NEAR(L2Norm(u->delta), 0.01, 1e-6);
}

TEST_F(FlClientTest, DeadlineStopsTheRoundWithoutAnUpdate) {
  FlClient client = MakeClient();
  int64_t seen = -1;
  auto u = client.Train(
      Assign(), *trainer_,
      [&](int64_t steps) {
        seen = steps;
        return steps >= 3 ? Status(StatusCode::kFailedPrecondition, "deadline passed")
                          : Status::Ok();
      },
      1);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message(), "deadline passed");
  EXPECT_EQ(seen, 3);
}

TEST_F(FlClientTest, DeviceGuardStopsOnDeadlineOrLostEligibility) {
  double now = 0;
  DeviceState state;
  StepGuard guard = DeviceGuard(
      10.0, [&] { return now; }, [&] { return state; }, {});
  EXPECT_TRUE(guard(0).ok());
  state.idle = false;  // the user picked the phone up
  EXPECT_EQ(guard(1).message(), "no longer eligible: not idle");
  state.idle = true;
  EXPECT_TRUE(guard(2).ok());
  now = 10.5;
  EXPECT_EQ(guard(3).message(), "deadline passed");
  // In a round: the device stops training when it is unplugged after 4 steps.
  int64_t steps = 0;
  now = 0;
  StepGuard device = DeviceGuard(
      10.0, [&] { return now; },
      [&] {
        DeviceState s;
        s.charging = steps++ < 4;
        return s;
      },
      {});
  FlClient client = MakeClient();
  auto u = client.Train(Assign(), *trainer_, device, 1);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message(), "no longer eligible: not charging");
}

// SCAFFOLD: y <- y - lr (g + c - c_i); c_i+ = c_i - c + (x - y) / (K lr).
TEST_F(FlClientTest, ScaffoldCorrectsGradientsAndUpdatesItsControlVariate) {
  Assignment a = Assign(Algorithm::kScaffold);
  a.plan.max_steps = 1;
  FlClient plain = MakeClient();
  auto base = plain.Train(a, *trainer_, {}, 5);
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  std::vector<float> c(model_->params.size());
  for (size_t i = 0; i < c.size(); ++i) c[i] = 0.01f * static_cast<float>(i + 1);
  a.server_control = std::make_shared<const std::vector<float>>(c);
  FlClient client = MakeClient();
  auto u = client.Train(a, *trainer_, {}, 5);  // same seed: the same batch
  ASSERT_TRUE(u.ok());
  const double lr = a.plan.learning_rate;
  for (size_t i = 0; i < c.size(); ++i) {
    // One step from the same point: the correction shifts the step by -lr * (c - c_i).
    EXPECT_NEAR(u->delta[i] - base->delta[i], -lr * c[i], 1e-6) << i;
    // K = 1, c_i = 0: dc = -c - delta / lr.
    EXPECT_NEAR(u->control_delta[i], -c[i] - u->delta[i] / lr, 1e-4) << i;
  }
  // The control variate changes only when the accepted report is committed.
  EXPECT_TRUE(client.control().empty() ||
              std::all_of(client.control().begin(), client.control().end(),
                          [](float v) { return v == 0; }));
  client.Commit(1, 1);
  ASSERT_EQ(client.control().size(), c.size());
  for (size_t i = 0; i < c.size(); ++i) EXPECT_NEAR(client.control()[i], u->control_delta[i], 1e-6);
}

TEST_F(FlClientTest, InterruptedOrRefusedRoundsLeaveNoState) {
  Assignment a = Assign(Algorithm::kScaffold);
  std::vector<float> c(model_->params.size(), 0.5f);
  a.server_control = std::make_shared<const std::vector<float>>(c);
  FlClient client = MakeClient();
  ASSERT_TRUE(client.Train(a, *trainer_, {}, 1).ok());
  client.Commit(1, 1);
  const std::vector<float> committed = client.control();
  // Interrupted mid-round: nothing staged, nothing changed.
  a.round = 2;
  auto cut = client.Train(
      a, *trainer_,
      [](int64_t s) {
        return s >= 2 ? Status(StatusCode::kFailedPrecondition, "interrupted") : Status::Ok();
      },
      2);
  ASSERT_FALSE(cut.ok());
  client.Commit(2, 1);
  EXPECT_EQ(client.control(), committed);
  // Trained but refused by the coordinator: discarded.
  ASSERT_TRUE(client.Train(a, *trainer_, {}, 3).ok());
  client.Discard();
  client.Commit(2, 1);
  EXPECT_EQ(client.control(), committed);
  // A commit for another round does not apply a staged variate either.
  ASSERT_TRUE(client.Train(a, *trainer_, {}, 3).ok());
  client.Commit(3, 1);
  EXPECT_EQ(client.control(), committed);
  // An interrupted round also leaves the shared trainer usable: the next round starts clean.
  FlClient other = MakeClient();
  auto first = other.Train(Assign(), *trainer_, {}, 9);
  auto second = other.Train(Assign(), *trainer_, {}, 9);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->delta, second->delta);
}

TEST_F(FlClientTest, FedProxPullsTowardsTheGlobalModel) {
  // The proximal gradient is mu (w - w_global), exactly.
  std::vector<Tensor> params = {Tensor::FromVector<float>(DataType::kFloat32, Shape{3}, {1, 2, 3})};
  std::vector<Tensor> grads = {
      Tensor::FromVector<float>(DataType::kFloat32, Shape{3}, {0.5f, 0, -1})};
  ASSERT_TRUE(AddProximalTerm(params, {0, 2, 5}, 0.1f, grads).ok());
  EXPECT_FLOAT_EQ(grads[0].data<float>()[0], 0.5f + 0.1f);
  EXPECT_FLOAT_EQ(grads[0].data<float>()[1], 0.0f);
  EXPECT_FLOAT_EQ(grads[0].data<float>()[2], -1 - 0.2f);
  EXPECT_FALSE(AddProximalTerm(params, {0, 2}, 0.1f, grads).ok());
  // In training, a large mu keeps the local model closer to the global one.
  Assignment a = Assign(Algorithm::kFedProx);
  a.plan.epochs = 3;
  FlClient client = MakeClient();
  auto free = client.Train(a, *trainer_, {}, 4);
  a.plan.prox_mu = 5.0f;
  auto held = client.Train(a, *trainer_, {}, 4);
  ASSERT_TRUE(free.ok() && held.ok());
  EXPECT_LT(L2Norm(held->delta), 0.8 * L2Norm(free->delta));
}

TEST_F(FlClientTest, ReadsExampleFoldersAndCallbacks) {
  const fs::path dir = fs::temp_directory_path() / ("tern_fl_client_" + std::to_string(::getpid()));
  fs::create_directories(dir / "test_data_set_0");
  train::Dataset d = TwoClassImages(16, 2);
  auto write = [&](const Tensor& t, const std::string& name) {
    auto bytes = onnx::SerializeValue(Value(t), name, false);
    ASSERT_TRUE(bytes.ok());
    std::ofstream f(dir / "test_data_set_0" / (name + ".pb"), std::ios::binary);
    f << bytes.value();
  };
  write(d.inputs, "input_0");
  write(d.labels, "input_1");
  FlClient folder("f", std::make_unique<FolderDataSource>(dir.string()));
  EXPECT_EQ(folder.data().Count().value(), 16);
  auto u = folder.Train(Assign(), *trainer_, {}, 1);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->examples, 16);
  fs::remove_all(dir);

  FlClient app("cb", std::make_unique<CallbackDataSource>(
                         []() -> Result<train::Dataset> { return TwoClassImages(24, 3); }));
  auto v = app.Train(Assign(), *trainer_, {}, 1);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->examples, 24);
  FlClient empty("none", std::make_unique<CallbackDataSource>(
                             []() -> Result<train::Dataset> { return IoError("no data yet"); }));
  EXPECT_EQ(empty.Train(Assign(), *trainer_, {}, 1).status().code(), StatusCode::kIoError);
}

TEST_F(FlClientTest, RefusesAssignmentsForAnotherArchitecture) {
  auto other = std::make_shared<GlobalModel>(*model_);
  other->params.push_back(0);
  Assignment a = Assign();
  a.model = other;
  FlClient client = MakeClient();
  EXPECT_FALSE(client.Train(a, *trainer_, {}, 1).ok());
}

}  // namespace
}  // namespace tern::fl
