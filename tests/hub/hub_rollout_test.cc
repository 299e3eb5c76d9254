// The rollout state machine (pure, fake clock) and RolloutService over a real SQLite store with a
// fake clock: stages promote, gates halt and roll back, commands, cohort stability. No sleeps.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "fleet/crypto.h"
#include "fleet/device_wire.h"
#include "hub/rollout.h"
#include "hub/rollout_service.h"
#include "hub/telemetry.h"
#include "pg_test_db.h"

namespace tern::hub {
namespace {

using Json = nlohmann::json;

RolloutSpec Spec(std::vector<int> percents, StageGates gates = {}) {
  Json stages = Json::array();
  for (int p : percents) stages.push_back({{"percent", p}});
  auto spec = RolloutSpec::FromJson(stages, gates);
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return *spec;
}

TEST(RolloutSpec, RefusesBadStages) {
  StageGates g;
  EXPECT_FALSE(RolloutSpec::FromJson(Json::array(), g).ok());
  EXPECT_FALSE(
      RolloutSpec::FromJson(Json::parse(R"([{"percent":50},{"percent":10},{"percent":100}])"), g)
          .ok());
  EXPECT_FALSE(RolloutSpec::FromJson(Json::parse(R"([{"percent":10},{"percent":50}])"), g).ok());
  EXPECT_FALSE(
      RolloutSpec::FromJson(Json::parse(R"([{"percent":100,"max_error_rate":2}])"), g).ok());
  EXPECT_FALSE(RolloutSpec::FromJson(Json::parse(R"([{"percent":"all"}])"), g).ok());
  auto ok =
      RolloutSpec::FromJson(Json::parse(R"([{"percent":0.5},{"percent":100,"min_soak_s":60}])"), g);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->stages[0].basis_points, 50);
  EXPECT_EQ(ok->stages[1].gates.min_soak_s, 60);
  // Round trip through the stored form.
  auto again = RolloutSpec::FromJson(ok->ToJson(), StageGates{});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson(), ok->ToJson());
}

TEST(RolloutCohort, StableAndMonotonic) {
  RolloutSpec spec = Spec({1, 10, 50, 100});
  int in_stage[4] = {0, 0, 0, 0};
  for (int i = 0; i < 2000; ++i) {
    const std::string dev = "dev_" + std::to_string(i);
    const uint32_t p = CohortPoint("ro_1", dev);
    EXPECT_EQ(p, CohortPoint("ro_1", dev));
    EXPECT_LT(p, 10000u);
    bool earlier = false;
    for (size_t s = 0; s < 4; ++s) {
      bool in = InCohort(p, spec.stages[s]);
      if (earlier) {
        EXPECT_TRUE(in) << dev << " left the cohort at stage " << s;
      }
      earlier = earlier || in;
      in_stage[s] += in;
    }
  }
  EXPECT_EQ(in_stage[3], 2000);
  EXPECT_NEAR(in_stage[2], 1000, 120);
  EXPECT_NEAR(in_stage[1], 200, 60);
  EXPECT_LT(in_stage[0], 60);
  // Another rollout picks other canaries.
  int same = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string dev = "dev_" + std::to_string(i);
    same += InCohort(CohortPoint("ro_1", dev), spec.stages[1]) &&
            InCohort(CohortPoint("ro_2", dev), spec.stages[1]);
  }
  EXPECT_LT(same, 100);
}

TEST(RolloutGates, WaitPassFail) {
  RolloutStage stage{1000, StageGates{3, 0.05, 0.0, 0.2, 600}};
  StageObservation seen;
  seen.cohort_devices = 10;
  seen.reporting_devices = 2;
  auto ev = EvaluateStage(stage, seen, 0);
  EXPECT_EQ(ev.verdict, GateState::kPending);

  seen.reporting_devices = 3;
  seen.inferences = 1000;
  seen.errors = 10;
  seen.p95_ms = 11;
  seen.baseline_p95_ms = 10;
  ev = EvaluateStage(stage, seen, 599);
  EXPECT_EQ(ev.verdict, GateState::kPending) << ev.ToJson().dump();  // soak not over
  ev = EvaluateStage(stage, seen, 600);
  EXPECT_EQ(ev.verdict, GateState::kPass) << ev.ToJson().dump();

  seen.p95_ms = 12.5;  // 25% slower than before; 20% allowed
  ev = EvaluateStage(stage, seen, 600);
  EXPECT_EQ(ev.verdict, GateState::kFail);
  EXPECT_NE(ev.FailureReason().find("p95_latency"), std::string::npos);

  seen.p95_ms = 10;
  seen.errors = 100;  // 10%
  ev = EvaluateStage(stage, seen, 0);
  EXPECT_EQ(ev.verdict, GateState::kFail) << "a failed gate does not wait for the soak";
  EXPECT_NE(ev.FailureReason().find("error_rate"), std::string::npos);

  seen.errors = 0;
  seen.failing_devices = 1;
  ev = EvaluateStage(stage, seen, 600);
  EXPECT_EQ(ev.verdict, GateState::kFail);
  EXPECT_NE(ev.FailureReason().find("crash_rate"), std::string::npos);

  // A cohort smaller than min_devices needs every cohort device, not more.
  StageObservation small;
  small.cohort_devices = 2;
  small.reporting_devices = 2;
  small.inferences = 10;
  EXPECT_EQ(EvaluateStage(stage, small, 600).verdict, GateState::kPass);
}

TEST(RolloutStateMachine, PromotesCompletesHaltsWithFakeClock) {
  RolloutSpec spec = Spec({10, 50, 100});
  StageEvaluation pass;
  pass.verdict = GateState::kPass;
  StageEvaluation fail;
  fail.verdict = GateState::kFail;
  fail.gates.push_back({"error_rate", GateState::kFail, "9%"});
  StageEvaluation wait;

  RolloutPosition at{RolloutState::kRunning, 0, 1000};
  auto t = Step(at, spec, wait, 1010);
  EXPECT_FALSE(t.changed);
  t = Step(at, spec, pass, 1020);
  ASSERT_TRUE(t.changed);
  EXPECT_EQ(t.next.stage, 1);
  EXPECT_EQ(t.next.stage_started_at, 1020);
  t = Step(t.next, spec, pass, 1030);
  EXPECT_EQ(t.next.stage, 2);
  t = Step(t.next, spec, pass, 1040);
  EXPECT_EQ(t.next.state, RolloutState::kCompleted);
  EXPECT_FALSE(Step(t.next, spec, fail, 1050).changed) << "a completed rollout stays completed";

  t = Step(at, spec, fail, 1060);
  EXPECT_EQ(t.next.state, RolloutState::kHalted);
  EXPECT_NE(t.reason.find("error_rate"), std::string::npos);
  EXPECT_FALSE(Step(t.next, spec, pass, 1070).changed) << "a halted rollout waits for an operator";

  // Commands.
  auto paused = Apply(at, RolloutCommand::kPause, 2000);
  ASSERT_TRUE(paused.ok());
  EXPECT_EQ(paused->next.state, RolloutState::kPaused);
  EXPECT_FALSE(Step(paused->next, spec, pass, 2001).changed);
  EXPECT_FALSE(Apply(paused->next, RolloutCommand::kPause, 2002).ok());
  auto resumed = Apply(paused->next, RolloutCommand::kResume, 2500);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed->next.state, RolloutState::kRunning);
  EXPECT_EQ(resumed->next.stage_started_at, 2500) << "the window restarts on resume";
  auto aborted = Apply(resumed->next, RolloutCommand::kAbort, 2600);
  ASSERT_TRUE(aborted.ok());
  EXPECT_EQ(aborted->next.state, RolloutState::kAborted);
  EXPECT_FALSE(Apply(aborted->next, RolloutCommand::kResume, 2700).ok());
  EXPECT_FALSE(Apply(aborted->next, RolloutCommand::kAbort, 2700).ok());
}

TEST(RolloutChoice, CohortGetsNewRestKeepsOldRollbackReturnsAll) {
  RolloutSpec spec = Spec({10, 100});
  RolloutPosition running{RolloutState::kRunning, 0, 0};
  EXPECT_EQ(ChooseVersion(running, spec, "2", "1", 999).version, "2");
  EXPECT_EQ(ChooseVersion(running, spec, "2", "1", 1000).version, "1");
  RolloutPosition paused{RolloutState::kPaused, 0, 0};
  EXPECT_EQ(ChooseVersion(paused, spec, "2", "1", 5).version, "2")
      << "a pause freezes, no rollback";
  RolloutPosition halted{RolloutState::kHalted, 0, 0};
  auto c = ChooseVersion(halted, spec, "2", "1", 5);
  EXPECT_EQ(c.version, "1");
  EXPECT_EQ(c.reason, "rollback");
  RolloutPosition done{RolloutState::kCompleted, 1, 0};
  EXPECT_EQ(ChooseVersion(done, spec, "2", "1", 9999).version, "2");
}

TEST(Telemetry, ParsesAndRefuses) {
  Json counts = Json::array();
  for (size_t i = 0; i < kLatencyBuckets; ++i) counts.push_back(i == 3 ? 100 : 0);
  Json body = {
      {"batch_id", "b1"},
      {"active", {{"model", "vad"}, {"version", "2"}}},
      {"reports",
       {{{"model", "vad"},
         {"version", "2"},
         {"inferences", 100},
         {"errors", 1},
         {"latency_ms", {{"bounds", kLatencyBoundsMs}, {"counts", counts}}}}}},
      {"events",
       {{{"type", "rollback"}, {"model", "vad"}, {"version", "1"}, {"from_version", "2"}}}}};
  auto b = ParseTelemetryBatch(body, "dev_a", 50);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->rows.size(), 2u);
  EXPECT_EQ(b->rows[1].version, "2");
  EXPECT_EQ(b->rows[1].failures, 1u) << "a rollback counts against the version left";
  auto p95 = HistogramQuantile(b->rows[0].latency_buckets, 0.95);
  ASSERT_TRUE(p95.has_value());
  EXPECT_GT(*p95, 5.0);
  EXPECT_LE(*p95, 10.0);

  for (
      const char* bad :
      {R"({"reports":[]})", R"({"batch_id":"a b"})",
       R"({"batch_id":"x","reports":[{"model":"vad","version":"2","inferences":-1}]})",
       R"({"batch_id":"x","events":[{"type":"reboot","model":"m","version":"1"}]})",
       R"({"batch_id":"x","reports":[{"model":"../x","version":"2"}]})",
       R"({"batch_id":"x","reports":[{"model":"m","version":"2","latency_ms":{"bounds":[1],"counts":[1,2]}}]})"}) {
    EXPECT_FALSE(ParseTelemetryBatch(Json::parse(bad), "d", 1).ok()) << bad;
  }
}

// What tern-agent sends (fleet::TelemetryReport::ToHubBatch) is what the hub accepts.
TEST(HubTelemetry, AcceptsTheAgentsBatches) {
  fleet::TelemetryReport r;
  r.seq = 9;
  r.from = 10;
  r.to = 20;
  r.model = "vad";
  r.version = "2";
  r.inferences = 7;
  r.errors = 1;
  r.latency_buckets[2] = 7;
  r.events.push_back({11, "install", "vad", "2", "1", "slot b"});
  r.events.push_back({12, "health_passed", "vad", "2", "", ""});
  r.events.push_back({13, "health_failed", "vad", "3", "", "probe mismatch"});
  r.events.push_back({14, "rollback", "vad", "2", "3", "probe mismatch"});
  r.events.push_back({15, "refused", "vad", "4", "", "bad signature"});
  r.events.push_back({16, "root_updated", "", "", "", "2"});
  auto b = ParseTelemetryBatch(r.ToHubBatch("dev_a"), "dev_a", 50);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->batch_id, "dev_a-9");
  EXPECT_EQ(b->active_version, "2");
  EXPECT_EQ(b->events.size(), 5u);
  uint64_t inferences = 0, failures_of_3 = 0;
  for (const auto& row : b->rows) {
    inferences += row.inferences;
    if (row.version == "3") failures_of_3 += row.failures;
  }
  EXPECT_EQ(inferences, 7u);
  EXPECT_EQ(failures_of_3, 2u) << "the failed health check and the rollback away from 3";
}

// RolloutService on each real store (SQLite, PostgreSQL) with a fake clock.
class RolloutServiceTest : public ::testing::TestWithParam<testing::StoreBackend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tern-rollout-" + fleet::RandomToken("").substr(0, 12));
    std::filesystem::create_directories(dir_);
    url_ = "sqlite:" + (dir_ / "hub.db").string();
    if (GetParam() == testing::StoreBackend::kPostgres) {
      TERN_REQUIRE_POSTGRES();
      db_ = std::make_unique<testing::TestDatabase>();
      url_ = db_->url();
    }
    store_ = OpenMigrated();
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->PutBlob(std::string(64, 'a'), 10, 1).ok());
    for (const char* v : {"1", "2", "3"}) {
      ModelVersionRecord rec;
      rec.model = "vad";
      rec.version = v;
      rec.metadata_json = "{}";
      rec.created_at = 1;
      rec.variants.push_back({"fp32", "fp32", "ref", {}, std::string(64, 'a'), 10});
      auto r = store_->InsertModelVersion(rec, [](int64_t n) -> Result<std::string> {
        return "{\"n\":" + std::to_string(n) + "}";
      });
      ASSERT_TRUE(r.ok() && r->has_value());
    }
    // 80 devices: a 10% cohort (drawn from the rollout's random id) is then empty with odds
    // of 0.9^80 = 0.02%, where the halt below needs one failing device in it (with 40: 1.5%).
    for (int i = 0; i < 80; ++i) {
      DeviceRecord d;
      d.id = "dev_" + std::to_string(i);
      d.name = d.id;
      d.capabilities_json = "{}";
      ASSERT_TRUE(store_->InsertDevice(d, "hash" + std::to_string(i)).ok());
    }
    service_ = std::make_unique<RolloutService>(
        store_.get(), [this] { return now_; }, [this] { ++changes_; });
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Another connection to the same database (what a second hub replica would open).
  std::unique_ptr<Store> OpenMigrated() {
    auto s = OpenStore(url_, dir_.string());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok() || !(*s)->Migrate().ok()) return nullptr;
    return std::move(*s);
  }

  // Every device reports on what it is assigned: `bad_version` fails its health check.
  void ReportAll(const std::string& bad_version) {
    auto devices = store_->ListDevicesInGroup("default");
    ASSERT_TRUE(devices.ok());
    for (const auto& d : *devices) {
      auto a = service_->AssignmentFor(d);
      ASSERT_TRUE(a.ok());
      if (!a->version) continue;
      const std::string v = a->version->version;
      TelemetryBatchRecord b;
      b.device_id = d.id;
      b.batch_id = std::to_string(batch_++);
      b.received_at = now_;
      TelemetryRow row{"vad", v, 100, 0, 0, 0, std::vector<uint64_t>(kLatencyBuckets, 0)};
      row.latency_buckets[3] = 100;
      if (v == bad_version) {
        row.failures = 1;
        row.errors = 100;
      }
      b.rows.push_back(row);
      b.active_model = "vad";
      b.active_version = v == bad_version ? a->version->version : v;
      ASSERT_TRUE(store_->InsertTelemetryBatch(b).ok());
    }
  }

  std::string Create(const std::string& version, const std::string& previous) {
    Json body = {{"model", "vad"},
                 {"version", version},
                 {"stages", {{{"percent", 10}}, {{"percent", 50}}, {{"percent", 100}}}},
                 {"gates", {{"min_devices", 2}, {"max_error_rate", 0.05}, {"min_soak_s", 60}}}};
    if (!previous.empty()) body["previous_version"] = previous;
    auto r = service_->Create(body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->id : "";
  }

  std::string State(const std::string& id) {
    auto r = store_->FindRollout(id);
    return r.ok() && r->has_value() ? (*r)->state + "/" + std::to_string((*r)->stage) : "?";
  }

  std::filesystem::path dir_;
  std::unique_ptr<testing::TestDatabase> db_;
  std::string url_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<RolloutService> service_;
  int64_t now_ = 10000;
  int changes_ = 0;
  int batch_ = 0;
};

TEST_P(RolloutServiceTest, WalksStagesThenHaltsAndRollsBack) {
  const std::string id = Create("2", "1");
  EXPECT_EQ(State(id), "running/0");
  ReportAll("");
  ASSERT_TRUE(service_->Tick().ok());
  EXPECT_EQ(State(id), "running/0") << "the soak is not over";
  now_ += 60;
  ASSERT_EQ(*service_->Tick(), 1);
  EXPECT_EQ(State(id), "running/1");
  now_ += 1;
  ReportAll("");
  now_ += 60;
  ASSERT_EQ(*service_->Tick(), 1);
  EXPECT_EQ(State(id), "running/2");
  now_ += 1;
  ReportAll("");
  now_ += 60;
  ASSERT_EQ(*service_->Tick(), 1);
  EXPECT_EQ(State(id), "completed/2");
  EXPECT_GE(changes_, 4);

  // Busy group: a second rollout waits for the first to finish (it has).
  const std::string id2 = Create("3", "");
  auto r2 = store_->FindRollout(id2);
  ASSERT_TRUE(r2.ok() && r2->has_value());
  EXPECT_EQ((*r2)->previous_version, "2") << "inferred from the completed rollout";
  EXPECT_FALSE(service_->Create({{"model", "vad"}, {"version", "1"}}).ok()) << "group is busy";
  ReportAll("3");
  now_ += 1;
  ASSERT_EQ(*service_->Tick(), 1);
  EXPECT_EQ(State(id2), "halted/0") << "failures halt without waiting for the soak";
  auto devices = store_->ListDevicesInGroup("default");
  for (const auto& d : *devices) {
    auto a = service_->AssignmentFor(d);
    ASSERT_TRUE(a.ok() && a->version);
    EXPECT_EQ(a->version->version, "2") << d.id;
  }
  auto described = service_->Describe(id2);
  ASSERT_TRUE(described.ok() && described->has_value());
  const Json& j = **described;
  EXPECT_EQ(j["state"], "halted");
  EXPECT_GT(j["devices"]["failed"].get<int>(), 0);
  EXPECT_NE(j["reason"].get<std::string>().find("gate failed"), std::string::npos);
  EXPECT_EQ(j["history"].size(), 2u);
}

TEST_P(RolloutServiceTest, PauseResumeAbortAndRestart) {
  const std::string id = Create("2", "1");
  auto paused = service_->Command(id, RolloutCommand::kPause);
  ASSERT_TRUE(paused.ok() && paused->has_value());
  ReportAll("");
  now_ += 120;
  ASSERT_EQ(*service_->Tick(), 0) << "a paused rollout does not promote";
  EXPECT_FALSE(service_->Command(id, RolloutCommand::kPause).ok());
  ASSERT_TRUE(service_->Command(id, RolloutCommand::kResume).ok());
  // A new service on a reopened store (a restarted hub) carries on.
  service_ = std::make_unique<RolloutService>(
      store_.get(), [this] { return now_; }, nullptr);
  now_ += 1;
  ReportAll("");
  now_ += 60;
  ASSERT_EQ(*service_->Tick(), 1);
  EXPECT_EQ(State(id), "running/1");
  ASSERT_TRUE(service_->Command(id, RolloutCommand::kAbort).ok());
  EXPECT_EQ(State(id), "aborted/1");
  auto devices = store_->ListDevicesInGroup("default");
  for (const auto& d : *devices) {
    auto a = service_->AssignmentFor(d);
    ASSERT_TRUE(a.ok() && a->version);
    EXPECT_EQ(a->version->version, "1");
    EXPECT_EQ(a->reason, "rollback");
  }
  EXPECT_FALSE(service_->Command("ro_missing", RolloutCommand::kAbort)->has_value());
}

// A rollback order outranks the manifest the cohort saw last (agents refuse older ones): the
// previous version is re-signed once under a higher counter; resuming re-signs the new version.
TEST_P(RolloutServiceTest, RollbackAndResumeReSignManifestsOnce) {
  int signed_count = 0;
  service_->set_resigner([&](const ModelVersionRecord& v, int64_t counter) -> Result<std::string> {
    ++signed_count;
    return "{\"v\":\"" + v.version + "\",\"n\":" + std::to_string(counter) + "}";
  });
  const std::string id = Create("2", "1");  // manifests: 1 → 1, 2 → 2, 3 → 3
  auto devices = store_->ListDevicesInGroup("default");
  ASSERT_TRUE(devices.ok());
  for (const auto& d : *devices) {
    auto a = service_->AssignmentFor(d);
    ASSERT_TRUE(a.ok() && a->version);
    if (a->reason == "baseline") {
      EXPECT_EQ(a->version->manifest_version, 1) << "not re-signed";
    } else {
      EXPECT_EQ(a->version->manifest_version, 2);
    }
  }
  EXPECT_EQ(signed_count, 0);
  ASSERT_TRUE(service_->Command(id, RolloutCommand::kAbort).ok());
  for (int round = 0; round < 2; ++round) {
    for (const auto& d : *devices) {
      auto a = service_->AssignmentFor(d);
      ASSERT_TRUE(a.ok() && a->version);
      EXPECT_EQ(a->reason, "rollback");
      EXPECT_EQ(a->version->version, "1");
      EXPECT_EQ(a->version->manifest_version, 4) << "above version 3's manifest counter";
      EXPECT_EQ(a->version->manifest_json, "{\"v\":\"1\",\"n\":4}");
    }
  }
  EXPECT_EQ(signed_count, 1) << "re-signed once, not per device or per poll";
  // A new rollout of 2 (older manifest than the re-signed 1) re-signs 2 for its cohort.
  auto second = service_->Create({{"model", "vad"},
                                  {"version", "2"},
                                  {"previous_version", "1"},
                                  {"stages", {{{"percent", 100}}}}});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  const std::string id2 = second->id;
  int rollout_seen = 0;
  for (const auto& d : *devices) {
    auto a = service_->AssignmentFor(d);
    ASSERT_TRUE(a.ok() && a->version);
    if (a->reason != "rollout") continue;
    ++rollout_seen;
    EXPECT_EQ(a->version->manifest_version, 5);
  }
  EXPECT_GT(rollout_seen, 0);
  EXPECT_EQ(signed_count, 2);
  EXPECT_EQ(State(id2), "running/0");
}

TEST_P(RolloutServiceTest, ReplicasTickingTogetherAdvanceEachStageOnce) {
  // Two more services on their own store connections: three hub replicas evaluating the gates
  // of one rollout at the same moments.
  auto second = OpenMigrated(), third = OpenMigrated();
  ASSERT_TRUE(second && third);
  auto clock = [this] { return now_; };
  RolloutService replica_b(second.get(), clock, nullptr), replica_c(third.get(), clock, nullptr);
  std::vector<RolloutService*> replicas = {service_.get(), &replica_b, &replica_c};
  const std::string id = Create("2", "1");
  for (const char* expected : {"running/1", "running/2", "completed/2"}) {
    now_ += 1;
    ReportAll("");
    now_ += 60;
    std::atomic<int> changed{0}, failed{0};
    testing::InParallel(6, [&](int i) {
      auto n = replicas[i % replicas.size()]->Tick();
      if (!n.ok()) ++failed;
      if (n.ok()) changed += *n;
    });
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(changed.load(), 1) << "exactly one replica moved the rollout to " << expected;
    EXPECT_EQ(State(id), expected);
  }
  auto events = store_->ListRolloutEvents(id);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 4u) << "created, two promotions, completed";
}

INSTANTIATE_TEST_SUITE_P(Stores, RolloutServiceTest, testing::AllStoreBackends(),
                         testing::StoreBackendName);

}  // namespace
}  // namespace tern::hub
