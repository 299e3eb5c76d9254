// A fleet of real tern-agent processes against a real tern-hub on 127.0.0.1: every agent follows
// the hub's assignments (long-poll), installs, health-checks, serves inference to this test over
// its socket and reports telemetry, and the hub's gates read that telemetry.
//  - A healthy version walks every stage of a staged rollout to 100%, across a hub restart in
//    the middle of it.
//  - A version that fails its health check on devices halts the rollout in its first stage, and
//    every device ends on the previous version (the rollback order carries a re-signed manifest
//    that the agents accept).
// Every wait is bounded. The fleet size comes from TERN_FLEET_AGENTS (default 50).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "agent_test_util.h"

namespace tern::agent {
namespace {

using namespace test;  // NOLINT

constexpr int64_t kSmall = 64;  // elements of the fleet's model: inference is cheap

int FleetSize() {
  const char* env = std::getenv("TERN_FLEET_AGENTS");
  const int n = env ? std::atoi(env) : 50;
  return n > 0 ? n : 50;
}

class AgentFleet : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = MakeTempDir("tern-fleet");
    ASSERT_FALSE(tmp_.empty());
    hub_ = std::make_unique<Hub>(
        tmp_ + "/hub",
        std::vector<std::string>{"--evaluate-every-ms", "100", "--poll-interval-s", "2"});
    ASSERT_TRUE(hub_->Start()) << Slurp(tmp_ + "/hub.log");
    ASSERT_TRUE(Provision(*hub_, tmp_)) << "no enroll key or root metadata from the hub";
  }

  void TearDown() override {
    for (pid_t pid : agents_) kill(pid, SIGTERM);
    for (pid_t pid : agents_) WaitExit(pid, 20);
    hub_.reset();
    if (!HasFailure()) std::filesystem::remove_all(tmp_);
  }

  // Publishes Y = X + w; its probe expects X + probe_w (a mismatch fails the health check).
  void Publish(const std::string& version, float w, float probe_w) {
    const std::string sha = hub_->Upload(AddModel(w, kSmall));
    ASSERT_TRUE(fleet::IsSha256Hex(sha));
    const std::string probe =
        hub_->Upload(ProbeArchive(tmp_ + "/probe-" + version, probe_w, kSmall));
    ASSERT_TRUE(fleet::IsSha256Hex(probe));
    Json body = {{"version", version},
                 {"variants",
                  {{{"name", "fp32"},
                    {"precision", "fp32"},
                    {"provider", "ref"},
                    {"sha256", sha},
                    {"probe_sha256", probe}}}}};
    auto r = hub_->Admin().Call("POST", "/v1/models/adder/versions", body.dump());
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 201) << r->body;
  }

  Json CreateRollout(const Json& body) {
    auto r = hub_->Admin().Call("POST", "/v1/rollouts", body.dump());
    EXPECT_TRUE(r.ok());
    if (!r.ok()) return Json();
    EXPECT_EQ(r->status, 201) << r->body;
    return Json::parse(r->body, nullptr, false);
  }

  Json Rollout(const std::string& id) {
    auto r = hub_->Admin().Call("GET", "/v1/rollouts/" + id);
    if (!r.ok() || r->status != 200) return Json();
    return Json::parse(r->body, nullptr, false);
  }

  std::string AgentDir(int i) const { return tmp_ + "/a" + std::to_string(i); }

  // Starts `n` agents that follow the hub (configured on version 1 until it assigns one).
  void StartAgents(int n) {
    for (int i = 0; i < n; ++i) {
      const std::string dir = AgentDir(i);
      std::filesystem::create_directories(dir);
      Json c = {{"hub_url", hub_->url()},
                {"state_dir", dir + "/state"},
                {"root_file", tmp_ + "/root.json"},
                {"enroll_key_file", tmp_ + "/enroll.key"},
                {"model", "adder"},
                {"version", "1"},
                {"device_name", "device-" + std::to_string(i)},
                {"providers", "ref"},
                {"poll_interval_s", 2},
                {"long_poll_s", 2},
                {"telemetry_interval_s", 1},
                {"max_attempts", 4},
                {"backoff_initial_ms", 50},
                {"backoff_max_ms", 500},
                {"http_timeout_s", 10}};
      ASSERT_TRUE(fleet::WriteFileAtomic(dir + "/agent.json", c.dump()).ok());
      agents_.push_back(
          Spawn({TERN_AGENT_BINARY, "run", "--config", dir + "/agent.json"}, {}, dir + "/log"));
    }
  }

  // Runs one inference on agent i; returns the served W (Y - X), NaN when it cannot serve.
  float Infer(int i) {
    const std::vector<float> x = Ramp(1, kSmall);
    auto r = SocketRequest(AgentDir(i) + "/state/agent.sock", EncodeRunRequest({TensorBytes(x)}));
    if (!r.ok()) return NAN;
    auto outs = DecodeRunReply(*r);
    if (!outs.ok() || outs->size() != 1) return NAN;
    std::vector<float> y = TensorValues((*outs)[0]);
    if (y.size() != x.size()) return NAN;
    return y[0] - x[0];
  }

  // One inference on every agent; returns the served W per agent.
  std::vector<float> InferAll() {
    std::vector<float> w;
    for (size_t i = 0; i < agents_.size(); ++i) w.push_back(Infer(static_cast<int>(i)));
    return w;
  }

  // Drives inference until `done(served)` holds or `timeout_s` passes.
  bool DriveUntil(int timeout_s, const std::function<bool(const std::vector<float>&)>& done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < until) {
      if (done(InferAll())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  static int Count(const std::vector<float>& served, float w) {
    int n = 0;
    for (float v : served) n += v == w ? 1 : 0;
    return n;
  }

  std::string Logs(int max_agents = 3) {
    std::string out = "hub:\n" + Slurp(tmp_ + "/hub.log").substr(0, 4000);
    for (int i = 0; i < max_agents && i < static_cast<int>(agents_.size()); ++i)
      out += "\nagent " + std::to_string(i) + ":\n" + Slurp(AgentDir(i) + "/log").substr(0, 3000);
    return out;
  }

  std::string tmp_;
  std::unique_ptr<Hub> hub_;
  std::vector<pid_t> agents_;
};

TEST_F(AgentFleet, StagedRolloutAcrossAHubRestartThenAFailingVersionHalts) {
  const int n = FleetSize();
  Publish("1", 1.0f, 1.0f);
  Publish("2", 2.0f, 2.0f);
  Publish("3", 3.0f, 99.0f);  // its probe expects other outputs: fails every health check
  StartAgents(n);
  ASSERT_TRUE(DriveUntil(240, [&](const std::vector<float>& s) { return Count(s, 1.0f) == n; }))
      << "not every agent serves version 1\n"
      << Logs();

  // A healthy rollout of 2 through three stages; each stage needs most of its cohort reporting
  // inferences on the new version.
  Json created = CreateRollout(
      {{"model", "adder"},
       {"version", "2"},
       {"previous_version", "1"},
       {"stages",
        {{{"percent", 10}, {"min_devices", 2}},
         {{"percent", 50}, {"min_devices", n / 3}},
         {{"percent", 100}, {"min_devices", n * 4 / 5}}}},
       {"gates", {{"max_error_rate", 0.0}, {"max_crash_rate", 0.0}, {"min_soak_s", 2}}}});
  const std::string id = created.value("id", "");
  ASSERT_FALSE(id.empty()) << created.dump();
  std::set<int> on_new;  // agents once serving 2 never go back during a healthy rollout
  bool restarted = false;
  std::string state;
  const bool completed = DriveUntil(300, [&](const std::vector<float>& served) {
    for (int i = 0; i < n; ++i) {
      if (served[i] == 2.0f) on_new.insert(i);
      if (on_new.count(i)) {
        EXPECT_EQ(served[i], 2.0f) << "agent " << i << " left version 2";
      }
      EXPECT_FALSE(std::isnan(served[i])) << "agent " << i << " stopped serving";
    }
    Json r = Rollout(id);
    if (!r.is_object()) return false;  // the hub is restarting
    state = r.value("state", "");
    if (!restarted && state == "running" && r.value("stage", 0) >= 2) {
      // Mid-rollout restart: the agents keep serving and retry; the rollout carries on.
      hub_->Stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      EXPECT_TRUE(hub_->Start()) << Slurp(tmp_ + "/hub.log");
      restarted = true;
      Json after = Rollout(id);
      EXPECT_EQ(after.value("stage", 0), r.value("stage", 0)) << after.dump();
      EXPECT_EQ(after.value("state", ""), "running");
    }
    return state == "completed" && Count(served, 2.0f) == n;
  });
  ASSERT_TRUE(completed) << "state " << state << "\n" << Rollout(id).dump(2) << "\n" << Logs();
  EXPECT_TRUE(restarted);
  std::vector<std::pair<std::string, int>> steps;
  const Json done = Rollout(id);
  for (const auto& h : done["history"]) steps.emplace_back(h["to"], h["stage"]);
  EXPECT_EQ(steps, (std::vector<std::pair<std::string, int>>{
                       {"running", 1}, {"running", 2}, {"running", 3}, {"completed", 3}}))
      << done.dump(2);

  // A failing version halts in its first stage; every device ends on 2, none serves 3.
  Json bad =
      CreateRollout({{"model", "adder"},
                     {"version", "3"},
                     {"previous_version", "2"},
                     {"stages", {{{"percent", 20}}, {{"percent", 100}}}},
                     {"gates", {{"min_devices", 1}, {"max_crash_rate", 0.0}, {"min_soak_s", 30}}}});
  const std::string bad_id = bad.value("id", "");
  ASSERT_FALSE(bad_id.empty()) << bad.dump();
  Json halted;
  const bool rolled_back = DriveUntil(240, [&](const std::vector<float>& served) {
    for (int i = 0; i < n; ++i) EXPECT_NE(served[i], 3.0f) << "agent " << i << " serves 3";
    halted = Rollout(bad_id);
    return halted.value("state", "") == "halted" && Count(served, 2.0f) == n;
  });
  ASSERT_TRUE(rolled_back) << halted.dump(2) << "\n" << Logs();
  EXPECT_EQ(halted.value("stage", 0), 1) << "halted in its first stage";
  EXPECT_GT(halted["devices"].value("failed", 0), 0) << halted.dump(2);
  // Agents settle on the rollback order (a re-signed manifest of 2) and keep serving 2.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  std::vector<float> served = InferAll();
  EXPECT_EQ(Count(served, 2.0f), n);
  int refused = 0;
  for (int i = 0; i < n; ++i) {
    const std::string log = Slurp(AgentDir(i) + "/log");
    if (log.find("refused adder 2") != std::string::npos) ++refused;
  }
  EXPECT_EQ(refused, 0) << "an agent refused the rollback order's manifest";
}

}  // namespace
}  // namespace tern::agent
