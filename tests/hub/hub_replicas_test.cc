// Two real `tern-hub serve` replicas on one PostgreSQL database and one shared data folder (as
// behind a load balancer): what is done through one is seen by the other, a rollout advances
// exactly once per stage while both evaluate its gates, a long-poll parked on one wakes up when
// the assignment changes through the other (also after the database dropped their
// connections), and everything survives restarting both. Every loop and wait is bounded.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hub_process.h"
#include "pg_test_db.h"

namespace tern::hub {
namespace {

using fleet::Json;
using testing::HubProcess;
using testing::Reply;

struct SimDevice {
  std::string id;
  std::string token;
  std::string running;
  int batches = 0;
};

class HubReplicas : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void SetUp() override {
    TERN_REQUIRE_POSTGRES();
    std::string pattern =
        (std::filesystem::temp_directory_path() / "tern-replicas-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    tmp_ = pattern;
    db_ = std::make_unique<testing::TestDatabase>();
  }

  void TearDown() override {
    for (auto* hub : {a_.get(), b_.get()}) {
      if (hub) {
        EXPECT_EQ(hub->Stop(), 0);
      }
    }
    a_.reset();
    b_.reset();
    db_.reset();
    if (!tmp_.empty()) std::filesystem::remove_all(tmp_);
  }

  // Starts replicas A and B at the same moment on the empty database and data folder: the
  // migrations and the first-start keys must not trip over each other.
  void StartReplicas(const std::string& evaluate_every_ms) {
    const std::vector<std::string> args = {
        "--store", db_->url(), "--evaluate-every-ms", evaluate_every_ms, "--poll-interval-s", "5"};
    a_ = std::make_unique<HubProcess>(tmp_ + "/data", args, "a");
    b_ = std::make_unique<HubProcess>(tmp_ + "/data", args, "b");
    auto a_up = std::async(std::launch::async, [&] { return a_->Start(); });
    auto b_up = std::async(std::launch::async, [&] { return b_->Start(); });
    ASSERT_TRUE(a_up.get()) << "replica A did not become healthy";
    ASSERT_TRUE(b_up.get()) << "replica B did not become healthy";
    admin_ = a_->AdminToken();
    ASSERT_EQ(admin_.rfind("tern_adm_", 0), 0u);
    ASSERT_EQ(b_->Get("/v1/devices", admin_).status, 200) << "both replicas know the admin key";
  }

  void RestartBoth() {
    ASSERT_EQ(a_->Stop(), 0);
    ASSERT_EQ(b_->Stop(), 0);
    auto a_up = std::async(std::launch::async, [&] { return a_->Start(); });
    auto b_up = std::async(std::launch::async, [&] { return b_->Start(); });
    ASSERT_TRUE(a_up.get());
    ASSERT_TRUE(b_up.get());
  }

  // Uploads a blob and publishes versions "1" and "2" of model vad through `hub`.
  void PublishVersions(const HubProcess& hub) {
    Reply up = hub.Post("/v1/blobs", admin_, "model bytes", "application/octet-stream");
    ASSERT_EQ(up.status, 201) << up.body;
    sha_ = up.json()["sha256"];
    for (const char* v : {"1", "2"}) {
      Json body = {{"version", v},
                   {"variants", {{{"name", "fp32"}, {"precision", "fp32"}, {"sha256", sha_}}}}};
      ASSERT_EQ(hub.Post("/v1/models/vad/versions", admin_, body.dump()).status, 201);
    }
  }

  void Register(const HubProcess& hub, int n, const std::string& group) {
    const std::string enroll = testing::CreateKey(tmp_ + "/data", "enroll", db_->url());
    ASSERT_EQ(enroll.rfind("tern_enr_", 0), 0u);
    for (int i = 0; i < n; ++i) {
      Json body = {{"name", group + "-" + std::to_string(i)},
                   {"group", group},
                   {"capabilities", {{"cpu_features", {"avx2"}}}}};
      Reply r = hub.Post("/v1/devices/register", enroll, body.dump());
      ASSERT_EQ(r.status, 201) << r.body;
      devices_.push_back({r.json()["id"], r.json()["token"], "", 0});
    }
  }

  std::string CreateRollout(const HubProcess& hub, const std::string& group, Json stages) {
    Json body = {{"model", "vad"},
                 {"version", "2"},
                 {"previous_version", "1"},
                 {"group", group},
                 {"stages", stages},
                 {"gates",
                  {{"min_devices", 1},
                   {"max_error_rate", 0.02},
                   {"max_crash_rate", 0.0},
                   {"max_p95_regression", 0.5},
                   {"min_soak_s", 0}}}};
    Reply r = hub.Post("/v1/rollouts", admin_, body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("id", "");
  }

  // Every device polls its assignment through one replica and reports through the other,
  // alternating with the device and the round, as a load balancer would spread them.
  void Round(int round) {
    for (size_t i = 0; i < devices_.size(); ++i) {
      SimDevice& d = devices_[i];
      const bool flip = (i + static_cast<size_t>(round)) % 2 == 1;
      const HubProcess& poll = flip ? *b_ : *a_;
      const HubProcess& report = flip ? *a_ : *b_;
      Reply a = poll.Get("/v1/devices/self/assignment", d.token);
      ASSERT_EQ(a.status, 200) << a.body;
      Json j = a.json();
      Json events = Json::array();
      if (j["version"].is_string() && j["version"] != d.running) {
        d.running = j["version"];
        events.push_back({{"type", "swap"}, {"model", "vad"}, {"version", d.running}});
      }
      Json body = testing::AgentBatch(d.id + "-" + std::to_string(d.batches++), events, d.running);
      Reply t = report.Post("/v1/telemetry", d.token, body.dump());
      ASSERT_EQ(t.status, 201) << t.body;
    }
  }

  std::string tmp_;
  std::unique_ptr<testing::TestDatabase> db_;
  std::unique_ptr<HubProcess> a_, b_;
  std::string admin_;
  std::string sha_;
  std::vector<SimDevice> devices_;
};

TEST_F(HubReplicas, WhatOneReplicaStoresTheOtherServesAcrossRestarts) {
  StartReplicas("1000");
  Register(*a_, 5, "lab");
  PublishVersions(*a_);
  auto listed = [&](const HubProcess& hub) {
    Reply r = hub.Get("/v1/devices", admin_);
    EXPECT_EQ(r.status, 200) << r.body;
    std::set<std::string> ids;
    const Json body = r.json();
    for (const auto& d : body["devices"]) ids.insert(d["id"].get<std::string>());
    return ids;
  };
  std::set<std::string> registered;
  for (const auto& d : devices_) registered.insert(d.id);
  EXPECT_EQ(listed(*b_), registered) << "devices registered through A are seen by B";
  // A device token issued by A works on B; the blob uploaded through A is served by B.
  Reply self = b_->Get("/v1/devices/self", devices_[0].token);
  ASSERT_EQ(self.status, 200) << self.body;
  EXPECT_EQ(self.json()["id"], devices_[0].id);
  Reply blob = b_->Get("/v1/blobs/" + sha_, devices_[0].token);
  EXPECT_EQ(blob.status, 200);
  EXPECT_EQ(blob.body, "model bytes");
  Reply versions = b_->Get("/v1/models/vad/versions", admin_);
  ASSERT_EQ(versions.status, 200) << versions.body;
  EXPECT_EQ(versions.json()["versions"].size(), 2u);
  // Publishing a version B already knows through A is refused by B.
  Json again = {{"version", "2"},
                {"variants", {{{"name", "fp32"}, {"precision", "fp32"}, {"sha256", sha_}}}}};
  EXPECT_EQ(b_->Post("/v1/models/vad/versions", admin_, again.dump()).status, 409);

  RestartBoth();
  EXPECT_EQ(listed(*a_), registered);
  EXPECT_EQ(listed(*b_), registered);
  EXPECT_EQ(b_->Get("/v1/devices/self", devices_[4].token).status, 200);
}

TEST_F(HubReplicas, RolloutAdvancesOncePerStageWhileBothEvaluate) {
  StartReplicas("50");
  PublishVersions(*b_);
  Register(*b_, 30, "fleet");
  const std::string id =
      CreateRollout(*a_, "fleet",
                    {{{"percent", 25}, {"min_devices", 1}, {"min_soak_s", 1}},
                     {{"percent", 50}, {"min_devices", 5}, {"min_soak_s", 1}},
                     {{"percent", 100}, {"min_devices", 15}, {"min_soak_s", 1}}});
  ASSERT_FALSE(id.empty());
  std::string state;
  for (int round = 0; round < 120 && state != "completed"; ++round) {
    Round(round);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    Reply s = (round % 2 ? *a_ : *b_).Get("/v1/rollouts/" + id, admin_);
    ASSERT_EQ(s.status, 200) << s.body;
    state = s.json()["state"];
  }
  ASSERT_EQ(state, "completed") << a_->Get("/v1/rollouts/" + id, admin_).body;
  // Both replicas evaluated every tick; each transition is in the history exactly once.
  auto history = [&](const HubProcess& hub) {
    std::vector<std::pair<std::string, int>> steps;
    Reply r = hub.Get("/v1/rollouts/" + id, admin_);
    EXPECT_EQ(r.status, 200) << r.body;
    const Json body = r.json();
    for (const auto& h : body["history"]) steps.emplace_back(h["to"], h["stage"]);
    return steps;
  };
  const std::vector<std::pair<std::string, int>> expected = {
      {"running", 1}, {"running", 2}, {"running", 3}, {"completed", 3}};
  EXPECT_EQ(history(*a_), expected);
  EXPECT_EQ(history(*b_), expected);
  Round(0);  // the last devices pick up the new version
  for (const auto& d : devices_) EXPECT_EQ(d.running, "2") << d.id;
  Reply b_view = b_->Get("/v1/rollouts/" + id, admin_);
  EXPECT_EQ(b_view.json()["devices"]["updated"], 30) << b_view.body;

  RestartBoth();
  Reply after = b_->Get("/v1/rollouts/" + id, admin_);
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.json()["state"], "completed");
  EXPECT_EQ(history(*a_), expected);
  Reply assignment = a_->Get("/v1/devices/self/assignment", devices_[7].token);
  ASSERT_EQ(assignment.status, 200);
  EXPECT_EQ(assignment.json()["version"], "2");
}

TEST_F(HubReplicas, LongPollOnOneReplicaWakesOnAChangeThroughTheOther) {
  // Gates are evaluated once an hour here, so B's own evaluator cannot be what wakes its
  // long-polls: only the other replica's change, through the store, can.
  StartReplicas("3600000");
  PublishVersions(*a_);
  Register(*a_, 1, "lp");
  Register(*a_, 1, "elsewhere");
  const SimDevice in_group = devices_[0];
  const SimDevice moved = devices_[1];

  // Parks `device`'s long-poll on B with its current tag; returns the answer and its time.
  auto park = [&](const SimDevice& device) {
    Reply first = b_->Get("/v1/devices/self/assignment", device.token);
    EXPECT_EQ(first.status, 200);
    const std::string etag = first.json()["etag"];
    return std::async(std::launch::async, [this, device, etag] {
      auto start = std::chrono::steady_clock::now();
      Reply r =
          b_->Get("/v1/devices/self/assignment?wait=20", device.token, {"If-None-Match: " + etag});
      return std::make_pair(r, std::chrono::steady_clock::now() - start);
    });
  };

  // A rollout created through A.
  auto waiting = park(in_group);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_FALSE(CreateRollout(*a_, "lp", {{{"percent", 100}}}).empty());
  auto [reply, took] = waiting.get();
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json()["version"], "2");
  EXPECT_LT(took, std::chrono::seconds(10)) << "answered by the change, not the deadline";

  // The database drops every hub connection (a restart or failover): the pools reconnect
  // and the LISTEN connections come back, so the next change still wakes B's long-polls.
  testing::ExecOn(db_->url(),
                  "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  "WHERE datname = current_database() AND pid <> pg_backend_pid()");
  EXPECT_EQ(a_->Get("/v1/devices", admin_).status, 200);
  EXPECT_EQ(b_->Get("/v1/devices", admin_).status, 200);

  // A device moved into that group through A.
  auto waiting_moved = park(moved);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  HubProcess::Options patch;
  patch.method = "PATCH";
  patch.token = admin_;
  patch.body = Json{{"group", "lp"}}.dump();
  patch.headers = {"Content-Type: application/json"};
  ASSERT_EQ(a_->Call("/v1/devices/" + moved.id, patch).status, 200);
  auto [moved_reply, moved_took] = waiting_moved.get();
  ASSERT_EQ(moved_reply.status, 200) << moved_reply.body;
  EXPECT_EQ(moved_reply.json()["version"], "2");
  EXPECT_LT(moved_took, std::chrono::seconds(10)) << "answered by the change, not the deadline";
}

}  // namespace
}  // namespace tern::hub
