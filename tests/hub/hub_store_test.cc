#include <gtest/gtest.h>

#include <filesystem>

#include <sqlite3.h>

#include "hub/migrations.h"
#include "hub/sqlite_store.h"

namespace tern::hub {
namespace {

class HubStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "tern-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> Open() {
    auto s = OpenSqliteStore(dir_ + "/hub.db");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE((*s)->Migrate().ok());
    return std::move(s).value();
  }
  std::string dir_;
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

TEST_F(HubStoreTest, MigratesOnceAndReopens) {
  {
    auto s = Open();
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

TEST_F(HubStoreTest, ModelVersionsCountManifestsAndRefuseDuplicates) {
  auto s = Open();
  // A variant must name a known blob (foreign key).
  auto no_blob = s->InsertModelVersion(Version("1.0"), [](int64_t) -> Result<std::string> {
    return std::string("{}");
  });
  EXPECT_FALSE(no_blob.ok());
  ASSERT_TRUE(s->PutBlob(std::string(64, 'a'), 10, 1).ok());
  ASSERT_TRUE(s->PutBlob(std::string(64, 'a'), 10, 1).ok());  // idempotent
  std::vector<int64_t> counters;
  auto signer = [&](int64_t n) -> Result<std::string> {
    counters.push_back(n);
    return std::string("{\"n\":") + std::to_string(n) + "}";
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
  auto failed = s->InsertModelVersion(Version("2.0"), [](int64_t) -> Result<std::string> {
    return Internal("no key");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(s->FindVersion("vad", "2.0")->has_value());
  auto found = s->FindVersion("vad", "1.1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->manifest_json, "{\"n\":2}");
  EXPECT_EQ((*found)->variants.at(0).cpu_features, std::vector<std::string>{"avx2"});
  EXPECT_EQ(s->ListVersions("vad")->size(), 2u);
  EXPECT_EQ(*s->ListModels(), std::vector<std::string>{"vad"});
}

TEST_F(HubStoreTest, Devices) {
  auto s = Open();
  DeviceRecord d{"dev_1", "kitchen", "{}", 10, 10};
  ASSERT_TRUE(s->InsertDevice(d, "th").ok());
  EXPECT_FALSE(s->InsertDevice(d, "th2").ok());  // same id
  auto by_token = s->FindDeviceByToken("th");
  ASSERT_TRUE(by_token.ok() && by_token->has_value());
  EXPECT_EQ((*by_token)->id, "dev_1");
  ASSERT_TRUE(s->TouchDevice("dev_1", 99).ok());
  EXPECT_EQ((*s->FindDevice("dev_1"))->last_seen, 99);
  EXPECT_EQ(s->ListDevices()->size(), 1u);
}

TEST_F(HubStoreTest, RefusesNewerSchemaAndUnknownUrls) {
  {
    auto s = Open();
  }
  // Pretend a newer hub migrated this file.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/hub.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (99, 'future', 0)", nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  {
    auto s = OpenSqliteStore(dir_ + "/hub.db");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->Migrate().code(), StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(OpenStore("postgresql://x", dir_).status().code(), StatusCode::kNotImplemented);
  EXPECT_EQ(OpenStore("mysql://x", dir_).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(OpenStore("", dir_).ok());
}

}  // namespace
}  // namespace tern::hub
