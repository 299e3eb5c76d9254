// A simulated fleet against a real `tern-hub serve` on 127.0.0.1: 50 devices as plain HTTP
// clients register, poll their assignments, "install" what they are told and report telemetry.
// A healthy version walks through every stage to 100% (with a hub restart mid-rollout); a
// failing one halts in its first stage and every device ends on the previous version. Every
// test runs on both stores (SQLite, and PostgreSQL via --store). Every loop is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hub/telemetry.h"
#include "hub_process.h"
#include "pg_test_db.h"

namespace tern::hub {
namespace {

using fleet::Json;
using testing::HubProcess;
using testing::Reply;

constexpr int kDevices = 50;

struct Device {
  std::string id;
  std::string token;
  std::string running;   // the version it runs ("" = none yet)
  std::string previous;  // last known good
  std::set<std::string> ever_ran;
  int batches = 0;
};

class FleetLoopback : public ::testing::TestWithParam<testing::StoreBackend> {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "tern-fleet-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    tmp_ = pattern;
    std::vector<std::string> args{"--evaluate-every-ms", "50", "--poll-interval-s", "5"};
    if (GetParam() == testing::StoreBackend::kPostgres) {
      TERN_REQUIRE_POSTGRES();
      db_ = std::make_unique<testing::TestDatabase>();
      store_ = db_->url();
      args.insert(args.end(), {"--store", store_});
    }
    hub_ = std::make_unique<HubProcess>(tmp_ + "/data", args);
    ASSERT_TRUE(hub_->Start());
    admin_ = hub_->AdminToken();
    Reply up = hub_->Post("/v1/blobs", admin_, "model bytes", "application/octet-stream");
    ASSERT_EQ(up.status, 201) << up.body;
    const std::string sha = up.json()["sha256"];
    for (const char* v : {"1", "2", "3"}) {
      Json body = {{"version", v},
                   {"variants", {{{"name", "fp32"}, {"precision", "fp32"}, {"sha256", sha}}}}};
      ASSERT_EQ(hub_->Post("/v1/models/vad/versions", admin_, body.dump()).status, 201);
    }
  }

  void TearDown() override {
    if (hub_) {
      EXPECT_EQ(hub_->Stop(), 0);
    }
    hub_.reset();
    db_.reset();
    std::filesystem::remove_all(tmp_);
  }

  void Register(int n, const std::string& group) {
    const std::string enroll = testing::CreateKey(hub_->data(), "enroll", store_);
    ASSERT_EQ(enroll.rfind("tern_enr_", 0), 0u);
    for (int i = 0; i < n; ++i) {
      Json body = {{"name", group + "-" + std::to_string(i)},
                   {"group", group},
                   {"capabilities", {{"cpu_features", {"avx2"}}}}};
      Reply r = hub_->Post("/v1/devices/register", enroll, body.dump());
      ASSERT_EQ(r.status, 201) << r.body;
      devices_.push_back({r.json()["id"], r.json()["token"], "", "", {}, 0});
    }
  }

  // One poll-install-report cycle for every device. Devices fail the health check of `bad`.
  void Round(const std::string& bad) {
    for (auto& d : devices_) {
      Reply a = hub_->Get("/v1/devices/self/assignment", d.token);
      ASSERT_EQ(a.status, 200) << a.body;
      EXPECT_FALSE(a.headers["retry-after"].empty());
      Json j = a.json();
      Json events = Json::array();
      if (j["version"].is_string() && j["version"] != d.running) {
        const std::string v = j["version"];
        ASSERT_TRUE(j["manifest"].is_object());
        if (v == bad) {
          events.push_back({{"type", "health_check_failed"}, {"model", "vad"}, {"version", v}});
          events.push_back({{"type", "rollback"},
                            {"model", "vad"},
                            {"version", d.running},
                            {"from_version", v}});
          d.ever_ran.insert(v);
        } else {
          events.push_back({{"type", "swap"}, {"model", "vad"}, {"version", v}});
          d.previous = d.running;
          d.running = v;
          d.ever_ran.insert(v);
        }
      }
      Json body = testing::AgentBatch(d.id + "-" + std::to_string(d.batches++), events, d.running);
      Reply t = hub_->Post("/v1/telemetry", d.token, body.dump());
      ASSERT_EQ(t.status, 201) << t.body;
      if (d.batches == 1) {  // a resend after a "dropped connection" changes nothing
        Reply again = hub_->Post("/v1/telemetry", d.token, body.dump());
        ASSERT_EQ(again.status, 200) << again.body;
        EXPECT_TRUE(again.json()["duplicate"].get<bool>());
      }
    }
  }

  Json Status(const std::string& id) {
    Reply r = hub_->Get("/v1/rollouts/" + id, admin_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json();
  }

  std::string CreateRollout(const std::string& group, const std::string& version,
                            const std::string& previous, Json stages) {
    Json body = {{"model", "vad"},
                 {"version", version},
                 {"group", group},
                 {"stages", stages},
                 {"gates",
                  {{"min_devices", 2},
                   {"max_error_rate", 0.02},
                   {"max_crash_rate", 0.0},
                   {"max_p95_regression", 0.5},
                   {"min_soak_s", 0}}}};
    if (!previous.empty()) body["previous_version"] = previous;
    Reply r = hub_->Post("/v1/rollouts", admin_, body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }

  void Pause() { std::this_thread::sleep_for(std::chrono::milliseconds(120)); }

  std::string tmp_;
  std::unique_ptr<testing::TestDatabase> db_;
  std::string store_;  // --store URL ("" = the SQLite default)
  std::unique_ptr<HubProcess> hub_;
  std::string admin_;
  std::vector<Device> devices_;
};

TEST_P(FleetLoopback, HealthyRolloutWalksEveryStageAcrossARestart) {
  Register(kDevices, "fleet");
  // Each stage needs most of its cohort on the new version and a second of soak, so the stage
  // cannot pass on the earlier cohort's reports alone.
  const std::string id =
      CreateRollout("fleet", "2", "1",
                    {{{"percent", 10}, {"min_devices", 2}, {"min_soak_s", 1}},
                     {{"percent", 50}, {"min_devices", 15}, {"min_soak_s", 3}},
                     {{"percent", 100}, {"min_devices", 40}, {"min_soak_s", 3}}});
  ASSERT_FALSE(id.empty());
  std::vector<int> stages_seen;
  bool restarted = false;
  std::string state;
  std::set<std::string> on_new;  // devices once assigned "2" must keep it
  for (int round = 0; round < 120 && state != "completed"; ++round) {
    Round("");
    for (const auto& d : devices_) {
      if (on_new.count(d.id)) {
        EXPECT_EQ(d.running, "2") << d.id << " left the cohort";
      }
      if (d.running == "2") on_new.insert(d.id);
    }
    Pause();
    Json s = Status(id);
    state = s["state"];
    const int stage = s["stage"];
    if (stages_seen.empty() || stages_seen.back() != stage) stages_seen.push_back(stage);
    if (stage >= 2 && state == "running" && !restarted) {
      // Mid-rollout restart: everything the rollout knows is in the store.
      ASSERT_EQ(hub_->Stop(), 0);
      ASSERT_TRUE(hub_->Start());
      restarted = true;
      Json after = Status(id);
      EXPECT_EQ(after["stage"], stage) << after.dump();
      EXPECT_EQ(after["state"], "running");
    }
  }
  ASSERT_EQ(state, "completed") << Status(id).dump(2);
  EXPECT_TRUE(restarted);
  // Which stages the polls between rounds saw depends on how long a round takes (a sanitized
  // build on a loaded machine can pass two stages in one round); the history below is exact.
  EXPECT_FALSE(stages_seen.empty());
  // The history has every transition: created at stage 1, promoted to 2 and 3, completed.
  std::vector<std::pair<std::string, int>> steps;
  const Json done = Status(id);
  for (const auto& h : done["history"]) steps.emplace_back(h["to"], h["stage"]);
  EXPECT_EQ(steps, (std::vector<std::pair<std::string, int>>{
                       {"running", 1}, {"running", 2}, {"running", 3}, {"completed", 3}}));
  Round("");  // the last devices pick up the new version
  for (const auto& d : devices_) EXPECT_EQ(d.running, "2") << d.id;
  Json s = Status(id);
  EXPECT_EQ(s["devices"]["updated"], kDevices) << s.dump(2);
  EXPECT_EQ(s["devices"]["assigned"], kDevices);
  EXPECT_EQ(s["devices"]["failed"], 0);
  EXPECT_EQ(s["history"].size(), 4u) << s["history"].dump(2);  // created + 2 promotions + done

  Reply m = hub_->Get("/metrics", admin_);
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("tern_rollout_state{rollout=\"" + id), std::string::npos);
  EXPECT_NE(m.body.find("tern_fleet_devices_active{model=\"vad\",version=\"2\"} 50"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("tern_hub_requests_total{route=\"telemetry\",status=\"201\"}"),
            std::string::npos);
  EXPECT_EQ(hub_->Get("/metrics").status, 401);
  EXPECT_EQ(hub_->Get("/metrics", devices_[0].token).status, 403);
  EXPECT_EQ(hub_->Get("/v1/rollouts/" + id, devices_[0].token).status, 403);
  EXPECT_EQ(hub_->Get("/v1/devices/self/assignment", admin_).status, 403);
}

TEST_P(FleetLoopback, FailingVersionHaltsInFirstStageAndEveryDeviceRollsBack) {
  Register(kDevices, "fleet");
  // Everyone on "2" first.
  const std::string base = CreateRollout("fleet", "2", "1", {{{"percent", 100}}});
  std::string state;
  for (int round = 0; round < 40 && state != "completed"; ++round) {
    Round("");
    Pause();
    state = Status(base)["state"];
  }
  ASSERT_EQ(state, "completed");
  Round("");

  const std::string id =
      CreateRollout("fleet", "3", "", {{{"percent", 10}}, {{"percent", 50}}, {{"percent", 100}}});
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Status(id)["previous_version"], "2");
  Json s;
  for (int round = 0; round < 40; ++round) {
    Round("3");
    Pause();
    s = Status(id);
    if (s["state"] != "running") break;
  }
  ASSERT_EQ(s["state"], "halted") << s.dump(2);
  EXPECT_EQ(s["stage"], 1) << "halted in its first stage";
  EXPECT_NE(s["reason"].get<std::string>().find("crash_rate"), std::string::npos) << s["reason"];
  EXPECT_GT(s["devices"]["failed"].get<int>(), 0);
  EXPECT_LE(s["devices"]["failed"].get<int>(), s["devices"]["cohort"].get<int>());
  Round("3");
  int tried = 0;
  for (const auto& d : devices_) {
    EXPECT_EQ(d.running, "2") << d.id;
    tried += d.ever_ran.count("3") ? 1 : 0;
  }
  EXPECT_LE(tried, s["devices"]["cohort"].get<int>()) << "only the first stage saw version 3";

  // Operators: a halted rollout can be aborted, not paused; an aborted one is final.
  EXPECT_EQ(hub_->Post("/v1/rollouts/" + id + "/pause", admin_, "").status, 409);
  Reply ab = hub_->Post("/v1/rollouts/" + id + "/abort", admin_, "");
  ASSERT_EQ(ab.status, 200) << ab.body;
  EXPECT_EQ(ab.json()["state"], "aborted");
  EXPECT_EQ(hub_->Post("/v1/rollouts/" + id + "/resume", admin_, "").status, 409);
  EXPECT_EQ(hub_->Post("/v1/rollouts/" + id + "/explode", admin_, "").status, 404);
  EXPECT_EQ(hub_->Post("/v1/rollouts/ro_nope/abort", admin_, "").status, 404);
  Reply m = hub_->Get("/metrics", admin_);
  EXPECT_NE(m.body.find("tern_rollout_state{rollout=\"" + id), std::string::npos);
}

TEST_P(FleetLoopback, LongPollAnswersWhenTheAssignmentChanges) {
  Register(1, "lp");
  const Device& d = devices_[0];
  Reply first = hub_->Get("/v1/devices/self/assignment", d.token);
  ASSERT_EQ(first.status, 200);
  EXPECT_TRUE(first.json()["version"].is_null());
  const std::string etag = first.json()["etag"];

  // Unchanged: a short wait ends in 304 with the same tag.
  auto t0 = std::chrono::steady_clock::now();
  Reply same = hub_->Get("/v1/devices/self/assignment?wait=1", d.token, {"If-None-Match: " + etag});
  EXPECT_EQ(same.status, 304);
  EXPECT_EQ(same.headers["etag"], etag);
  EXPECT_FALSE(same.headers["retry-after"].empty());
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));

  auto waiting = std::async(std::launch::async, [&] {
    auto start = std::chrono::steady_clock::now();
    Reply r = hub_->Get(
        "/v1/devices/self/assignment?wait=15&known=" + etag.substr(1, etag.size() - 2), d.token);
    return std::make_pair(r, std::chrono::steady_clock::now() - start);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CreateRollout("lp", "2", "1", {{{"percent", 100}}});
  auto [reply, took] = waiting.get();
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json()["version"], "2");
  EXPECT_NE(reply.json()["etag"], etag);
  EXPECT_LT(took, std::chrono::seconds(10)) << "answered by the change, not the deadline";
  EXPECT_EQ(hub_->Get("/v1/devices/self/assignment?wait=abc", d.token).status, 400);

  // A parked long-poll does not hold up a graceful stop.
  auto parked = std::async(std::launch::async, [&] {
    return hub_->Get("/v1/devices/self/assignment?wait=60", d.token,
                     {"If-None-Match: " + reply.json()["etag"].get<std::string>()});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto stop_start = std::chrono::steady_clock::now();
  EXPECT_EQ(hub_->Stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - stop_start, std::chrono::seconds(5));
  EXPECT_EQ(parked.get().status, 304);
  hub_.reset();
}

INSTANTIATE_TEST_SUITE_P(Stores, FleetLoopback, testing::AllStoreBackends(),
                         testing::StoreBackendName);

}  // namespace
}  // namespace tern::hub
