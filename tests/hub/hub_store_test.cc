// The store suite, run against every Store implementation: SQLite (a file in a temporary
// folder) and PostgreSQL (a fresh database on the test cluster, tests/hub/pg_test_db.h). The
// races below stand for hub replicas: several Store objects on one database, used from many
// threads at once.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <set>
#include <thread>

#include "hub/migrations.h"
#include "hub/pg_store.h"
#include "hub/sqlite_store.h"
#include "pg_test_db.h"

namespace tern::hub {
namespace {

using testing::InParallel;
using testing::TestDatabase;
using Backend = testing::StoreBackend;

class HubStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "tern-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    if (GetParam() == Backend::kPostgres) {
      TERN_REQUIRE_POSTGRES();
      db_ = std::make_unique<TestDatabase>();
    }
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string Url() const {
    return GetParam() == Backend::kPostgres ? db_->url() : "sqlite:" + dir_ + "/hub.db";
  }
  // Opens the store without migrating it.
  std::unique_ptr<Store> OpenRaw() {
    auto s = OpenStore(Url(), dir_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  std::unique_ptr<Store> Open() {
    auto s = OpenRaw();
    if (s) {
      Status st = s->Migrate();
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
    return s;
  }
  // Runs SQL on the database behind the store, bypassing it.
  void ExecRaw(const std::string& sql) {
    if (GetParam() == Backend::kPostgres) {
      db_->Exec(sql);
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/hub.db").c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  // `n` stores on the same database, like `n` hub replicas.
  std::vector<std::unique_ptr<Store>> Replicas(int n) {
    std::vector<std::unique_ptr<Store>> out;
    for (int i = 0; i < n; ++i) out.push_back(Open());
    return out;
  }

  std::string dir_;
  std::unique_ptr<TestDatabase> db_;
};

ModelVersionRecord Version(const std::string& v) {
  ModelVersionRecord rec;
  rec.model = "vad";
  rec.version = v;
  rec.metadata_json = "{}";
  rec.created_at = 100;
  rec.variants.push_back({"fp32", "fp32", "ref", {"avx2"}, std::string(64, 'a'), 10});
  return rec;
}

Result<std::string> SignCounter(int64_t n) {
  return std::string("{\"n\":") + std::to_string(n) + "}";
}

RolloutRecord Rollout(const std::string& id, const std::string& group) {
  RolloutRecord r;
  r.id = id;
  r.model = "vad";
  r.version = "1.0";
  r.group = group;
  r.spec_json = "[]";
  r.state = "running";
  r.evaluation_json = "{}";
  r.created_at = r.updated_at = 100;
  return r;
}

// Stores one model version and returns the store, ready for rollouts.
std::unique_ptr<Store> WithVersion(std::unique_ptr<Store> s) {
  EXPECT_TRUE(s->PutBlob(std::string(64, 'a'), 10, 1).ok());
  auto v = s->InsertModelVersion(Version("1.0"), SignCounter);
  EXPECT_TRUE(v.ok() && v->has_value());
  return s;
}

TEST_P(HubStoreTest, MigratesOnceAndReopens) {
  {
    auto s = Open();
    ASSERT_TRUE(s);
    EXPECT_EQ(*s->SchemaVersion(), Migrations().back().version);
    ASSERT_TRUE(s->Migrate().ok());  // idempotent
    ASSERT_TRUE(s->InsertApiKey("admin", "admin", "h1", 5).ok());
  }
  auto s = Open();
  auto key = s->FindApiKey("h1");
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(key->has_value());
  EXPECT_EQ((*key)->role, "admin");
  EXPECT_FALSE(s->FindApiKey("h2")->has_value());
  EXPECT_EQ(*s->CountApiKeys(), 1);
}

TEST_P(HubStoreTest, ModelVersionsCountManifestsAndRefuseDuplicates) {
  auto s = Open();
  ASSERT_TRUE(s);
  // A variant must name a known blob (foreign key).
  auto no_blob = s->InsertModelVersion(Version("1.0"), SignCounter);
  EXPECT_FALSE(no_blob.ok());
  ASSERT_TRUE(s->PutBlob(std::string(64, 'a'), 10, 1).ok());
  ASSERT_TRUE(s->PutBlob(std::string(64, 'a'), 10, 1).ok());  // idempotent
  std::vector<int64_t> counters;
  auto signer = [&](int64_t n) -> Result<std::string> {
    counters.push_back(n);
    return SignCounter(n);
  };
  auto a = s->InsertModelVersion(Version("1.0"), signer);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(a->has_value());
  auto b = s->InsertModelVersion(Version("1.1"), signer);
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->manifest_version, 2);
  auto dup = s->InsertModelVersion(Version("1.0"), signer);
  ASSERT_TRUE(dup.ok());
  EXPECT_FALSE(dup->has_value());
  // A failed signer rolls everything back.
  auto failed = s->InsertModelVersion(
      Version("2.0"), [](int64_t) -> Result<std::string> { return Internal("no key"); });
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(s->FindVersion("vad", "2.0")->has_value());
  auto found = s->FindVersion("vad", "1.1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->manifest_json, "{\"n\":2}");
  EXPECT_EQ((*found)->variants.at(0).cpu_features, std::vector<std::string>{"avx2"});
  EXPECT_EQ(s->ListVersions("vad")->size(), 2u);
  EXPECT_EQ(*s->ListModels(), std::vector<std::string>{"vad"});
  auto blob = s->FindBlob(std::string(64, 'a'));
  ASSERT_TRUE(blob.ok() && blob->has_value());
  EXPECT_EQ((*blob)->size, 10u);
}

TEST_P(HubStoreTest, Devices) {
  auto s = Open();
  ASSERT_TRUE(s);
  DeviceRecord d{"dev_1", "kitchen", "{}", 10, 10};
  ASSERT_TRUE(s->InsertDevice(d, "th").ok());
  EXPECT_FALSE(s->InsertDevice(d, "th2").ok());  // same id
  auto by_token = s->FindDeviceByToken("th");
  ASSERT_TRUE(by_token.ok() && by_token->has_value());
  EXPECT_EQ((*by_token)->id, "dev_1");
  ASSERT_TRUE(s->TouchDevice("dev_1", 99).ok());
  EXPECT_EQ((*s->FindDevice("dev_1"))->last_seen, 99);
  EXPECT_EQ(s->ListDevices()->size(), 1u);
  EXPECT_TRUE(*s->SetDeviceGroup("dev_1", "lab"));
  EXPECT_FALSE(*s->SetDeviceGroup("dev_nope", "lab"));
  EXPECT_EQ(s->ListDevicesInGroup("lab")->size(), 1u);
  EXPECT_TRUE(s->ListDevicesInGroup("default")->empty());
}

TEST_P(HubStoreTest, RolloutsCompareAndSetAndKeepHistory) {
  auto s = WithVersion(Open());
  RolloutRecord r = Rollout("ro_1", "g");
  ASSERT_TRUE(*s->InsertRollout(r, {100, "", "running", 0, "created"}));
  EXPECT_FALSE(*s->InsertRollout(Rollout("ro_2", "g"), {100, "", "running", 0, "created"}))
      << "one running rollout per group";
  r.stage = 1;
  ASSERT_TRUE(*s->UpdateRollout(r, RolloutEventRecord{101, "running", "running", 1, "promoted"}));
  EXPECT_FALSE(*s->UpdateRollout(r, std::nullopt)) << "stale revision";
  auto stored = s->FindRollout("ro_1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->revision, 1);
  EXPECT_EQ((*stored)->stage, 1);
  auto events = s->ListRolloutEvents("ro_1");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[1].reason, "promoted");
  EXPECT_EQ((*s->LatestRolloutForGroup("g"))->id, "ro_1");
  EXPECT_FALSE(s->LatestRolloutForGroup("other")->has_value());
  EXPECT_EQ(s->ListRollouts()->size(), 1u);
}

TEST_P(HubStoreTest, TelemetryIsDeduplicatedAndSummedPerDevice) {
  auto s = Open();
  ASSERT_TRUE(s);
  for (const char* id : {"dev_a", "dev_b"}) {
    ASSERT_TRUE(s->InsertDevice(DeviceRecord{id, id, "{}", 1, 1}, std::string("t-") + id).ok());
  }
  auto batch = [](const std::string& device, const std::string& id, int64_t at) {
    TelemetryBatchRecord b;
    b.device_id = device;
    b.batch_id = id;
    b.received_at = at;
    b.rows.push_back(TelemetryRow{"vad", "1.0", 10, 1, 0, 1, {1, 2, 3}});
    b.events.push_back(TelemetryEventRecord{"swap", "vad", "1.0", "", at, ""});
    b.active_model = "vad";
    b.active_version = "1.0";
    return b;
  };
  EXPECT_TRUE(*s->InsertTelemetryBatch(batch("dev_a", "b1", 50)));
  EXPECT_FALSE(*s->InsertTelemetryBatch(batch("dev_a", "b1", 50))) << "a resend";
  EXPECT_TRUE(*s->InsertTelemetryBatch(batch("dev_a", "b2", 60)));
  EXPECT_TRUE(*s->InsertTelemetryBatch(batch("dev_b", "b1", 40)));
  auto sums = s->TelemetryByDevice("vad", "1.0", 45);
  ASSERT_TRUE(sums.ok());
  ASSERT_EQ(sums->size(), 1u) << "dev_b's batch is older than the window";
  EXPECT_EQ((*sums)[0].device_id, "dev_a");
  EXPECT_EQ((*sums)[0].inferences, 20u);
  EXPECT_EQ((*sums)[0].failures, 2u);
  EXPECT_EQ((*sums)[0].latency_buckets, (std::vector<uint64_t>{2, 4, 6}));
  EXPECT_EQ((*s->FindDevice("dev_a"))->active_version, "1.0");
  EXPECT_EQ((*s->FindDevice("dev_a"))->active_at, 60);
}

TEST_P(HubStoreTest, RefusesNewerSchema) {
  {
    auto s = Open();
    ASSERT_TRUE(s);
  }
  // Pretend a newer hub migrated this database.
  ExecRaw("INSERT INTO schema_migrations VALUES (99, 'future', 0)");
  auto s = OpenRaw();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->Migrate().code(), StatusCode::kFailedPrecondition);
}

// ---- replicas racing ----

TEST_P(HubStoreTest, ReplicasStartingTogetherMigrateOnce) {
  std::vector<std::unique_ptr<Store>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(OpenRaw());
  std::vector<Status> results(stores.size());
  InParallel(4, [&](int i) { results[i] = stores[i]->Migrate(); });
  for (const auto& st : results) EXPECT_TRUE(st.ok()) << st.ToString();
  for (const auto& s : stores) EXPECT_EQ(*s->SchemaVersion(), Migrations().back().version);
}

TEST_P(HubStoreTest, ConcurrentRolloutUpdatesHaveOneWinnerPerRevision) {
  auto replicas = Replicas(3);
  WithVersion(Open());
  RolloutRecord r = Rollout("ro_race", "g");
  ASSERT_TRUE(*replicas[0]->InsertRollout(r, {100, "", "running", 0, "created"}));
  constexpr int kRounds = 5, kWriters = 6;
  for (int round = 0; round < kRounds; ++round) {
    // Every writer read the same revision and tries to advance the stage from it.
    RolloutRecord seen = **replicas[0]->FindRollout("ro_race");
    std::atomic<int> won{0}, failed{0};
    InParallel(kWriters, [&](int i) {
      RolloutRecord next = seen;
      next.stage = seen.stage + 1;
      next.reason = "promoted by writer " + std::to_string(i);
      auto saved = replicas[i % replicas.size()]->UpdateRollout(
          next, RolloutEventRecord{200, "running", "running", next.stage, next.reason});
      if (!saved.ok()) ++failed;
      if (saved.ok() && *saved) ++won;
    });
    EXPECT_EQ(failed.load(), 0);
    EXPECT_EQ(won.load(), 1) << "round " << round;
  }
  auto final = **replicas[1]->FindRollout("ro_race");
  EXPECT_EQ(final.stage, kRounds) << "each stage advanced exactly once";
  EXPECT_EQ(final.revision, kRounds);
  EXPECT_EQ(replicas[2]->ListRolloutEvents("ro_race")->size(), 1u + kRounds);
}

TEST_P(HubStoreTest, ConcurrentRolloutCreationLeavesOneActivePerGroup) {
  auto replicas = Replicas(3);
  WithVersion(Open());
  constexpr int kWriters = 6;
  std::atomic<int> inserted{0}, failed{0};
  InParallel(kWriters, [&](int i) {
    auto ok = replicas[i % replicas.size()]->InsertRollout(
        Rollout("ro_" + std::to_string(i), "busy"), {100, "", "running", 0, "created"});
    if (!ok.ok()) ++failed;
    if (ok.ok() && *ok) ++inserted;
  });
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(inserted.load(), 1);
  EXPECT_EQ(replicas[0]->ListRollouts()->size(), 1u);
}

TEST_P(HubStoreTest, ConcurrentResendsOfABatchCountOnce) {
  auto replicas = Replicas(3);
  ASSERT_TRUE(replicas[0]->InsertDevice(DeviceRecord{"dev_a", "a", "{}", 1, 1}, "t").ok());
  TelemetryBatchRecord b;
  b.device_id = "dev_a";
  b.batch_id = "same";
  b.received_at = 10;
  b.rows.push_back(TelemetryRow{"vad", "1.0", 7, 0, 0, 0, {}});
  std::atomic<int> stored{0}, failed{0};
  InParallel(6, [&](int i) {
    auto ok = replicas[i % replicas.size()]->InsertTelemetryBatch(b);
    if (!ok.ok()) ++failed;
    if (ok.ok() && *ok) ++stored;
  });
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(stored.load(), 1);
  auto sums = replicas[1]->TelemetryByDevice("vad", "1.0", 0);
  ASSERT_TRUE(sums.ok() && sums->size() == 1u);
  EXPECT_EQ((*sums)[0].inferences, 7u);
}

TEST_P(HubStoreTest, ConcurrentPublishesTakeDistinctManifestCounters) {
  auto replicas = Replicas(3);
  ASSERT_TRUE(replicas[0]->PutBlob(std::string(64, 'a'), 10, 1).ok());
  constexpr int kWriters = 12;
  std::vector<Result<std::optional<ModelVersionRecord>>> results(kWriters, Internal("not run"));
  // Writers 0..5 publish distinct versions; 6..11 race them with the same versions.
  InParallel(kWriters, [&](int i) {
    results[i] = replicas[i % replicas.size()]->InsertModelVersion(
        Version("v" + std::to_string(i % 6)), SignCounter);
  });
  std::set<int64_t> counters;
  int stored = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    if (r->has_value()) {
      ++stored;
      counters.insert((*r)->manifest_version);
    }
  }
  EXPECT_EQ(stored, 6) << "a second publish of a version is refused, not an error";
  EXPECT_EQ(counters, (std::set<int64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(replicas[2]->ListVersions("vad")->size(), 6u);
}

INSTANTIATE_TEST_SUITE_P(Stores, HubStoreTest, testing::AllStoreBackends(),
                         testing::StoreBackendName);

TEST(HubStoreUrls, RefusesUnknownAndUnreachableStores) {
  std::string pattern = (std::filesystem::temp_directory_path() / "tern-store-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  EXPECT_EQ(OpenStore("mysql://x", pattern).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(OpenStore("", pattern).ok());
  // Nothing listens on port 1: the error says so at open, without the password.
  auto pg = OpenStore("postgresql://u:s3cret@127.0.0.1:1/db?connect_timeout=2", pattern);
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.status().code(), StatusCode::kIoError);
  EXPECT_EQ(pg.status().message().find("s3cret"), std::string::npos) << pg.status().message();
  EXPECT_NE(pg.status().message().find("u:***@127.0.0.1:1"), std::string::npos)
      << pg.status().message();
  EXPECT_EQ(RedactStoreUrl("postgresql://u@h:5/d"), "postgresql://u@h:5/d");
  std::filesystem::remove_all(pattern);
}

}  // namespace
}  // namespace tern::hub
