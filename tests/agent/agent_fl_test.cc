// Federated learning through real processes on 127.0.0.1: one tern-hub hosts an FL task with
// secure aggregation; 11 eligible tern-agents (each with its own shard of Fashion-MNIST as
// example .pb files) and one that is not eligible (metered network) check in. One agent is
// killed mid-round (TERN_AGENT_CRASH_AT): after it shared its keys (the hub removes its pairwise
// masks with the others' key shares; 10 reports count), or after it sent its masked input (the
// hub rebuilds its self mask without its unmasking answer; 11 reports count). The round's model
// is published as a new registry version; the test replays each counted agent's training
// in-process (same code, data and seed) and checks that the published model is the FedAvg of
// exactly those updates, that the test loss went down, and that the killed agent restarts
// serving its model. A hub restart then keeps the version (the ended task is not resumed). Also:
// a three-round task without secure aggregation that resumes across a hub restart, and the task
// API's input and access checks.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "agent_test_util.h"
#include "fl/client.h"
#include "fl/local_trainer.h"
#include "fleet/crypto.h"
#include "fleet/fl_wire.h"
#include "onnx/initializer_update.h"
#include "onnx/onnx_import.h"
#include "train/dataset.h"

namespace tern::agent {
namespace {

using namespace test;  // NOLINT

constexpr int kEligible = 11;       // agents that take part (one of them is killed)
constexpr int64_t kPerAgent = 120;  // examples per agent
constexpr const char* kTask = "fmnist-fl";

class AgentFl : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(std::string(train::kFashionMnistDir) +
                                 "/t10k-labels-idx1-ubyte.gz"))
      GTEST_SKIP() << "dataset-fashion-mnist is not installed";
    std::string pattern = (std::filesystem::temp_directory_path() / "tern-fl-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    tmp_ = pattern;
    hub_ = std::make_unique<Hub>(tmp_ + "/hub",
                                 std::vector<std::string>{"--evaluate-every-ms", "100"});
    ASSERT_TRUE(hub_->Start()) << Slurp(tmp_ + "/hub.log");
    ASSERT_TRUE(Provision(*hub_, tmp_));
  }

  void TearDown() override {
    for (pid_t pid : agents_)
      if (pid > 0) kill(pid, SIGTERM);
    for (pid_t pid : agents_)
      if (pid > 0) WaitExit(pid, 20);
    hub_.reset();
    if (!HasFailure() && !tmp_.empty()) std::filesystem::remove_all(tmp_);
  }

  std::string AgentDir(int i) const { return tmp_ + "/a" + std::to_string(i); }

  // Rows [begin, begin + n) of `d` as one example folder (input_0.pb images, input_1.pb labels).
  static void WriteShard(const train::Dataset& d, int64_t begin, int64_t n,
                         const std::string& dir) {
    std::filesystem::create_directories(dir + "/test_data_set_0");
    const int64_t row = d.inputs.numel() / d.size();
    Tensor x = Tensor::Wrap(DataType::kFloat32, Shape{n, 1, 28, 28},
                            const_cast<float*>(d.inputs.data<float>()) + begin * row);
    Tensor y = Tensor::Wrap(DataType::kInt64, Shape{n},
                            const_cast<int64_t*>(d.labels.data<int64_t>()) + begin);
    ASSERT_TRUE(fleet::WriteFileAtomic(dir + "/test_data_set_0/input_0.pb",
                                       onnx::SerializeValue(Value(x), "image", false).value())
                    .ok());
    ASSERT_TRUE(fleet::WriteFileAtomic(dir + "/test_data_set_0/input_1.pb",
                                       onnx::SerializeValue(Value(y), "label", false).value())
                    .ok());
  }

  pid_t StartAgent(int i, bool metered, const std::map<std::string, std::string>& env) {
    const std::string dir = AgentDir(i);
    std::filesystem::create_directories(dir);
    const Json state = {{"idle", true}, {"charging", true}, {"metered", metered}};
    EXPECT_TRUE(fleet::WriteFileAtomic(dir + "/device_state.json", state.dump()).ok());
    Json c = {{"hub_url", hub_->url()},
              {"state_dir", dir + "/state"},
              {"root_file", tmp_ + "/root.json"},
              {"enroll_key_file", tmp_ + "/enroll.key"},
              {"model", "fmnist"},
              {"version", "1"},
              {"device_name", "device-" + std::to_string(i)},
              {"providers", "ref"},
              {"poll_interval_s", 5},
              {"long_poll_s", 5},
              {"telemetry_interval_s", 5},
              {"max_attempts", 4},
              {"backoff_initial_ms", 50},
              {"backoff_max_ms", 500},
              {"http_timeout_s", 10},
              {"federated",
               {{"data_dir", dir + "/data"},
                {"state_file", dir + "/device_state.json"},
                {"max_checkin_interval_s", 2}}}};
    EXPECT_TRUE(fleet::WriteFileAtomic(dir + "/agent.json", c.dump()).ok());
    return Spawn({TERN_AGENT_BINARY, "run", "--config", dir + "/agent.json"}, env, dir + "/log");
  }

  // The base model (MLP 784-32-10), published as fmnist 1; the agents serve it. Empty on failure.
  std::string PublishBase() {
    const std::string base = onnx::BuildImageMlp(7, 28, 32, 10);
    const std::string sha = hub_->Upload(base);
    EXPECT_TRUE(fleet::IsSha256Hex(sha));
    const Json variant = {
        {"name", "fp32"}, {"precision", "fp32"}, {"provider", "ref"}, {"sha256", sha}};
    const Json version = {{"version", "1"}, {"variants", Json::array({variant})}};
    auto pub = hub_->Admin().Call("POST", "/v1/models/fmnist/versions", version.dump());
    const bool ok = pub.ok() && pub->status == 201;
    EXPECT_TRUE(ok) << (pub.ok() ? pub->body : pub.status().ToString());
    return ok ? base : "";
  }

  // Agent i's shard: rows [i * kPerAgent, (i + 1) * kPerAgent) of the training set.
  void WriteShards(int agents) {
    auto train_set = train::LoadIdxDataset(train::kFashionMnistDir, "train", agents * kPerAgent);
    ASSERT_TRUE(train_set.ok()) << train_set.status().ToString();
    for (int i = 0; i < agents; ++i)
      WriteShard(*train_set, i * kPerAgent, kPerAgent, AgentDir(i) + "/data");
  }

  void CreateTask(const Json& task) {
    auto created = hub_->Admin().Call("POST", "/v1/fl/tasks", task.dump());
    ASSERT_TRUE(created.ok());
    ASSERT_EQ(created->status, 201) << created->body;
  }

  // Polls the task until it is done or failed (bounded).
  Json WaitForTaskEnd(const std::string& task, int timeout_s) {
    Json status;
    for (int i = 0; i < timeout_s * 4; ++i) {
      status = Get("/v1/fl/tasks/" + task);
      const std::string phase = status.is_object() && status["phase"].is_string()
                                    ? status["phase"].get<std::string>()
                                    : "";
      if (phase == "done" || phase == "failed") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return status;
  }

  Json Get(const std::string& path) {
    auto r = hub_->Admin().Call("GET", path);
    if (!r.ok() || r->status != 200) return Json();
    return Json::parse(r->body, nullptr, false);
  }

  std::string tmp_;
  std::unique_ptr<Hub> hub_;
  std::vector<pid_t> agents_;
  void SecureRound(const std::string& crash_at);
};

// Runs one secure round in which agent 0 is killed at `crash_at`. After sharing its keys it is a
// drop-out (goal 10: the 10 others report, its pairwise masks are rebuilt from their shares);
// after its masked input it is a survivor that never unmasks (goal 11: all 11 count, its self
// mask is rebuilt from the others' shares).
void AgentFl::SecureRound(const std::string& crash_at) {
  const bool counted = crash_at == "fl-after-masked";
  const int goal = counted ? kEligible : kEligible - 1;
  const std::string base = PublishBase();
  ASSERT_FALSE(base.empty());

  WriteShards(kEligible + 1);
  if (HasFatalFailure()) return;

  const Json task = {
      {"name", kTask},
      {"model", "fmnist"},
      {"version", "1"},
      {"algorithm", "fedavg"},
      {"secure_aggregation", "secagg"},
      {"plan", {{"epochs", 2}, {"batch", 20}, {"learning_rate", 0.1}, {"clip_norm", 0}}},
      {"eligibility",
       {{"require_idle", true}, {"require_charging", true}, {"require_unmetered", true}}},
      {"round",
       {{"goal_count", goal},
        {"over_selection", counted ? 1.0 : 1.1},
        {"min_reports", 8},
        {"selection_timeout_s", 40},
        {"deadline_s", 40},
        {"secagg_step_timeout_s", 5},
        {"max_attempts", 2}}},
      {"population", kEligible},
      {"max_rounds", 1}};
  CreateTask(task);
  if (HasFatalFailure()) return;

  for (int i = 0; i < kEligible; ++i) {
    std::map<std::string, std::string> env;
    if (i == 0) env["TERN_AGENT_CRASH_AT"] = crash_at;
    agents_.push_back(StartAgent(i, false, env));
  }
  agents_.push_back(StartAgent(kEligible, /*metered=*/true, {}));

  const Json status = WaitForTaskEnd(kTask, 120);
  ASSERT_TRUE(status.is_object()) << Slurp(tmp_ + "/hub.log");
  ASSERT_EQ(status.value("phase", ""), "done") << status.dump(1) << Slurp(tmp_ + "/hub.log");

  // Agent 0 died where it was told to; the ineligible agent was never selected.
  EXPECT_EQ(WaitExit(agents_[0], 5), 3) << Slurp(AgentDir(0) + "/log");
  agents_[0] = -1;
  EXPECT_NE(Slurp(AgentDir(0) + "/log").find("crash injected at " + crash_at), std::string::npos);
  EXPECT_EQ(Slurp(AgentDir(kEligible) + "/log").find("selected for"), std::string::npos);

  // One committed round: 11 selected; 10 reports and one drop-out, or 11 reports.
  const Json history = status["history"];
  ASSERT_FALSE(history.empty());
  const Json& last = history.back();
  EXPECT_TRUE(last.value("committed", false)) << status.dump(1);
  EXPECT_EQ(last.value("selected", 0), kEligible);
  EXPECT_EQ(last.value("reports", 0), goal);
  EXPECT_EQ(last.value("missing", 0) + last.value("abandoned", 0), counted ? 0 : 1);
  const int64_t attempt = last.value("attempt", 1);

  // The round's model is a new version of fmnist in the registry, signed like any other.
  const std::string published = "1+" + std::string(kTask) + ".r1";
  const Json versions = Get("/v1/models/fmnist/versions");
  ASSERT_TRUE(versions.is_object());
  std::string new_sha;
  for (const auto& v : versions["versions"]) {
    if (v.value("version", "") != published) continue;
    ASSERT_FALSE(v["variants"].empty());
    new_sha = v["variants"][0].value("sha256", "");
  }
  ASSERT_TRUE(fleet::IsSha256Hex(new_sha)) << versions.dump(1);
  auto manifest =
      hub_->Admin().Call("GET", "/v1/models/fmnist/versions/" + published + "/manifest");
  ASSERT_TRUE(manifest.ok());
  EXPECT_EQ(manifest->status, 200);
  auto blob = hub_->Admin().Call("GET", "/v1/blobs/" + new_sha);
  ASSERT_TRUE(blob.ok());
  ASSERT_EQ(blob->status, 200);

  // Replay the survivors' training in-process: FedAvg (server rate 1) of their updates must be
  // what the hub published, up to the fixed-point resolution of the secure sum.
  auto base_trainer = fl::LocalTrainer::Create(base);
  auto new_trainer = fl::LocalTrainer::Create(blob->body);
  ASSERT_TRUE(base_trainer.ok() && new_trainer.ok());
  fl::Assignment a;
  a.task = kTask;
  a.round = 1;
  a.attempt = static_cast<int>(attempt);
  a.plan.epochs = 2;
  a.plan.batch = 20;
  a.plan.learning_rate = 0.1f;
  auto global = std::make_shared<fl::GlobalModel>();
  global->params = (*base_trainer)->initial_params();
  global->states = (*base_trainer)->initial_states();
  a.model = global;
  std::vector<double> sum(global->params.size(), 0.0);
  double weight = 0;
  for (int i = counted ? 0 : 1; i < kEligible; ++i) {
    const Json dev = SlurpJson(AgentDir(i) + "/state/device.json");
    ASSERT_TRUE(dev.is_object());
    fl::FlClient client("replay", std::make_unique<fl::FolderDataSource>(AgentDir(i) + "/data"));
    auto u = client.Train(a, **base_trainer, nullptr,
                          fleet::FlTrainingSeed(kTask, 1, attempt, dev.value("id", "")));
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    for (size_t k = 0; k < sum.size(); ++k)
      sum[k] += static_cast<double>(u->examples) * u->delta[k];
    weight += static_cast<double>(u->examples);
  }
  const std::vector<float>& got = (*new_trainer)->initial_params();
  ASSERT_EQ(got.size(), sum.size());
  double max_err = 0, max_step = 0;
  for (size_t k = 0; k < sum.size(); ++k) {
    const double want = global->params[k] + sum[k] / weight;
    max_err = std::max(max_err, std::abs(want - got[k]));
    max_step = std::max(max_step, std::abs(sum[k] / weight));
  }
  EXPECT_LT(max_err, 1e-4) << "largest step " << max_step;
  EXPECT_GT(max_step, 1e-3);  // the model did move

  // And it learned: lower loss on test examples than the base model.
  auto test_set = train::LoadIdxDataset(train::kFashionMnistDir, "t10k", 1000);
  ASSERT_TRUE(test_set.ok());
  auto before = (*base_trainer)->Evaluate(global->params, global->states, *test_set);
  auto after = (*new_trainer)->Evaluate(got, (*new_trainer)->initial_states(), *test_set);
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_LT(after->loss, before->loss);
  EXPECT_GT(after->accuracy, before->accuracy);
  std::printf(
      "fl round: loss %.4f -> %.4f, accuracy %.3f -> %.3f, largest step %.3g, "
      "max |published - replayed| %.2e\n",
      before->loss, after->loss, before->accuracy, after->accuracy, max_step, max_err);

  // The killed agent's device is intact: restarted, it serves its model again.
  agents_[0] = StartAgent(0, false, {});
  bool served = false;
  std::vector<float> image(28 * 28, 0.5f);
  ::onnx::TensorProto t;
  t.set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : {1, 1, 28, 28}) t.add_dims(d);
  t.set_raw_data(image.data(), image.size() * sizeof(float));
  for (int i = 0; i < 200 && !served; ++i) {
    auto r =
        SocketRequest(AgentDir(0) + "/state/agent.sock", EncodeRunRequest({t.SerializeAsString()}));
    served = r.ok() && DecodeRunReply(*r).ok();
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(served) << Slurp(AgentDir(0) + "/log");

  // After a hub restart the ended task is gone and the published version is kept.
  hub_->Stop();
  ASSERT_TRUE(hub_->Start()) << Slurp(tmp_ + "/hub.log");
  auto gone = hub_->Admin().Call("GET", std::string("/v1/fl/tasks/") + kTask);
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->status, 404);
  auto kept = hub_->Admin().Call("GET", "/v1/models/fmnist/versions/" + published);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->status, 200);
}

TEST_F(AgentFl, SecureRoundSurvivesAnAgentKilledAfterSharingKeys) { SecureRound("fl-after-share"); }

TEST_F(AgentFl, SecureRoundCountsAnAgentKilledAfterItsMaskedInput) {
  SecureRound("fl-after-masked");
}

// Plain aggregation (no secure aggregation) over three rounds, with a hub restart after the
// first: the hub resumes the task from its saved state and last published model, and every
// round is published (here under another model name).
TEST_F(AgentFl, PlainRoundsResumeAfterAHubRestart) {
  ASSERT_FALSE(PublishBase().empty());
  constexpr int kAgents = 3;
  WriteShards(kAgents);
  if (HasFatalFailure()) return;
  const Json task = {
      {"name", "plain"},
      {"model", "fmnist"},
      {"version", "1"},
      {"publish_model", "fmnist-fl"},
      {"algorithm", "fedprox"},
      {"secure_aggregation", "none"},
      {"plan", {{"epochs", 1}, {"batch", 20}, {"learning_rate", 0.1}, {"prox_mu", 0.01}}},
      {"round",
       {{"goal_count", kAgents},
        {"over_selection", 1.0},
        {"min_reports", kAgents},
        {"selection_timeout_s", 40},
        {"deadline_s", 40}}},
      {"population", kAgents},
      {"max_rounds", 3}};
  CreateTask(task);
  if (HasFatalFailure()) return;
  for (int i = 0; i < kAgents; ++i) agents_.push_back(StartAgent(i, false, {}));
  bool first = false;
  for (int i = 0; i < 240 && !first; ++i) {
    const Json now = Get("/v1/fl/tasks/plain");
    first = now.is_object() && now["published"].is_array() && !now["published"].empty();
    if (!first) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(first) << Slurp(tmp_ + "/hub.log");
  hub_->Stop();
  ASSERT_TRUE(hub_->Start()) << Slurp(tmp_ + "/hub.log");
  const Json status = WaitForTaskEnd("plain", 120);
  ASSERT_TRUE(status.is_object()) << Slurp(tmp_ + "/hub.log");
  ASSERT_EQ(status.value("phase", ""), "done") << status.dump(1);
  EXPECT_GE(status.value("rounds_before_restart", 0), 1);
  ASSERT_EQ(status["published"].size(), 3u) << status.dump(1);
  EXPECT_EQ(status["published"][2].value("version", ""), "1+plain.r3");
  for (const auto& h : status["history"]) {
    EXPECT_TRUE(h.value("committed", false)) << status.dump(1);
    EXPECT_EQ(h.value("reports", 0), kAgents);
  }
  const Json versions = Get("/v1/models/fmnist-fl/versions");
  ASSERT_TRUE(versions.is_object());
  EXPECT_EQ(versions["versions"].size(), 3u) << versions.dump(1);
}

// The task API checks what it is given; devices and admins reach only their endpoints.
TEST_F(AgentFl, TaskApiChecksItsInput) {
  ASSERT_FALSE(PublishBase().empty());
  Json good = {{"name", "t1"},
               {"model", "fmnist"},
               {"version", "1"},
               {"round", {{"goal_count", 3}, {"min_reports", 3}, {"deadline_s", 30}}}};
  auto post = [&](const Json& body) {
    auto r = hub_->Admin().Call("POST", "/v1/fl/tasks", body.dump());
    return r.ok() ? r->status : -1;
  };
  auto with = [&](const std::string& key, const Json& value) {
    Json j = good;
    j[key] = value;
    return j;
  };
  EXPECT_EQ(post(Json::object()), 400);
  EXPECT_EQ(post(with("version", "9")), 404);
  EXPECT_EQ(post(with("algorithm", "scaffold")), 409);
  EXPECT_EQ(post(with("algorithm", "sgd")), 400);
  EXPECT_EQ(post(with("secure_aggregation", "maybe")), 400);
  EXPECT_EQ(post(with("plan", {{"epochs", "two"}})), 400);
  EXPECT_EQ(post(with("round", {{"goal_count", 2}, {"min_reports", 5}})), 400);
  EXPECT_EQ(post(good), 201);
  EXPECT_EQ(post(good), 409);  // running
  const Json list = Get("/v1/fl/tasks");
  ASSERT_TRUE(list.is_object());
  EXPECT_EQ(list["tasks"].size(), 1u);

  // A device: ineligible on a metered network, told when to come back; not in any round.
  auto reg = hub_->Admin().Call("POST", "/v1/devices/register",
                                Json{{"name", "d"}, {"capabilities", Json::object()}}.dump());
  ASSERT_TRUE(reg.ok());
  ASSERT_EQ(reg->status, 201) << reg->body;
  AgentConfig dc;
  dc.hub_url = hub_->url();
  dc.max_attempts = 1;
  HubClient device(dc, nullptr);
  device.set_token(Json::parse(reg->body)["token"].get<std::string>());
  const Json metered = {
      {"state", {{"idle", true}, {"charging", true}, {"unmetered", false}, {"examples", 10}}}};
  auto in = device.Call("POST", "/v1/fl/checkin", metered.dump());
  ASSERT_TRUE(in.ok());
  ASSERT_EQ(in->status, 200) << in->body;
  const Json answer = Json::parse(in->body, nullptr, false);
  EXPECT_FALSE(answer.value("selected", true));
  EXPECT_GT(answer.value("retry_after_s", 0.0), 0.0);
  auto cfg = device.Call("GET", "/v1/fl/tasks/t1/secagg?round=1&attempt=1&step=config");
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->status, 200);  // selection still open: not ready yet
  EXPECT_FALSE(Json::parse(cfg->body, nullptr, false).value("ready", true));
  const Json share = {{"round", 1}, {"attempt", 1}, {"step", "share"}, {"message", ""}};
  auto shared = device.Call("POST", "/v1/fl/tasks/t1/secagg", share.dump());
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared->status, 410);  // no SecAgg round open (and not selected)
  const Json gave_up = {{"round", 1}, {"attempt", 1}};
  auto missing = device.Call("POST", "/v1/fl/tasks/nope/abandon", gave_up.dump());
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  // Devices may not create tasks; admins may not check in.
  auto create = device.Call("POST", "/v1/fl/tasks", good.dump());
  ASSERT_TRUE(create.ok());
  EXPECT_EQ(create->status, 403);
  auto admin_in = hub_->Admin().Call("POST", "/v1/fl/checkin", metered.dump());
  ASSERT_TRUE(admin_in.ok());
  EXPECT_EQ(admin_in->status, 403);
}

}  // namespace
}  // namespace tern::agent
