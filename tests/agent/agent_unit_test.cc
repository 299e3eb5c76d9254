// Agent pieces without processes: probe archives, variant choice, telemetry queue bounds, wire
// types, slot pointer durability.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "agent/capabilities.h"
#include "agent/health.h"
#include "agent/slots.h"
#include "agent/telemetry.h"
#include "agent_test_util.h"
#include "fleet/crypto.h"
#include "fleet/device_wire.h"

namespace tern::agent {
namespace {

std::string TempDir() {
  std::string pattern =
      (std::filesystem::temp_directory_path() / "tern-agent-unit-XXXXXX").string();
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

TEST(AgentProbe, ParsesArchivesMadeByTar) {
  const std::string dir = TempDir();
  const std::string archive = test::ProbeArchive(dir + "/p", 1.0f);
  ASSERT_FALSE(archive.empty());
  auto sets = ParseProbeArchive(archive);
  ASSERT_TRUE(sets.ok()) << sets.status().ToString();
  ASSERT_EQ(sets->size(), 1u);
  EXPECT_EQ((*sets)[0].inputs.size(), 1u);
  EXPECT_EQ(test::TensorValues((*sets)[0].outputs.at(0))[5], 6.0f);
  std::filesystem::remove_all(dir);
}

TEST(AgentProbe, RefusesDamagedArchives) {
  const std::string dir = TempDir();
  std::string archive = test::ProbeArchive(dir + "/p", 1.0f);
  ASSERT_GT(archive.size(), 1024u);
  std::string bad_checksum = archive;
  bad_checksum[10] ^= 1;  // inside the first header's name
  EXPECT_FALSE(ParseProbeArchive(bad_checksum).ok());
  EXPECT_FALSE(ParseProbeArchive(archive.substr(0, 700)).ok());   // truncated entry
  EXPECT_FALSE(ParseProbeArchive(std::string(1024, '\0')).ok());  // empty archive
  EXPECT_FALSE(ParseProbeArchive("not a tar").ok());
  std::filesystem::remove_all(dir);
}

TEST(AgentProbe, SurvivesRandomDamage) {
  const std::string dir = TempDir();
  const std::string archive = test::ProbeArchive(dir + "/p", 1.0f);
  ASSERT_FALSE(archive.empty());
  std::mt19937 rng(7);
  int parsed = 0;
  for (int i = 0; i < 300; ++i) {
    std::string damaged = archive;
    for (int k = 0; k < 4; ++k) damaged[rng() % 1024] = static_cast<char>(rng());  // a header
    parsed += ParseProbeArchive(damaged).ok();  // must not crash; almost every one is refused
  }
  EXPECT_LT(parsed, 300);
  std::filesystem::remove_all(dir);
}

TEST(AgentProbe, ComparesWithTolerance) {
  Tensor a = Tensor::FromVector<float>(DataType::kFloat32, Shape{3}, {1.0f, 2.0f, 3.0f});
  Tensor b = Tensor::FromVector<float>(DataType::kFloat32, Shape{3}, {1.0f, 2.00001f, 3.0f});
  Tensor c = Tensor::FromVector<float>(DataType::kFloat32, Shape{3}, {1.0f, 2.5f, 3.0f});
  EXPECT_EQ(CompareTensors(a, b, 1e-4, 1e-3), "");
  EXPECT_NE(CompareTensors(a, c, 1e-4, 1e-3), "");
  Tensor d = Tensor::FromVector<float>(DataType::kFloat32, Shape{1, 3}, {1.0f, 2.0f, 3.0f});
  EXPECT_NE(CompareTensors(a, d, 1e-4, 1e-3), "");
}

TEST(AgentVariants, PicksWhatTheHardwareRunsBest) {
  fleet::TargetsMetadata m;
  m.model = "m";
  m.model_version = "1";
  m.variants = {{"fp32", "fp32", "ref", {}, 1, std::string(64, 'a')},
                {"avx2", "fp32", "cpu", {"avx2", "fma"}, 1, std::string(64, 'b')},
                {"cpu", "fp32", "cpu", {}, 1, std::string(64, 'c')},
                {"avx512", "int8", "cpu", {"avx512f", "avx512vnni"}, 1, std::string(64, 'd')}};
  DeviceCapabilities caps;
  caps.providers = {"cpu", "ref"};
  caps.cpu_features = {"avx2", "fma"};
  EXPECT_EQ(ChooseVariant(m, caps)->name, "avx2");
  caps.cpu_features = {};
  EXPECT_EQ(ChooseVariant(m, caps)->name, "cpu");
  caps.providers = {"ref"};
  EXPECT_EQ(ChooseVariant(m, caps)->name, "fp32");
  caps.providers = {"vulkan"};
  EXPECT_FALSE(ChooseVariant(m, caps).ok());
}

TEST(AgentTelemetry, QueueIsBoundedAndCountsDrops) {
  const std::string dir = TempDir();
  {
    Telemetry t(dir, 3);
    ASSERT_TRUE(t.Init().ok());
    ASSERT_TRUE(t.Cut(100, "m", "1").ok());  // nothing happened: no report
    EXPECT_EQ(t.queued(), 0);
    for (int i = 0; i < 5; ++i) {
      t.RecordRun(300 + i, i != 2);
      ASSERT_TRUE(t.Cut(101 + i, "m", "1").ok());
    }
    EXPECT_EQ(t.queued(), 3);
    EXPECT_EQ(t.dropped(), 2u);
  }
  Telemetry again(dir, 3);  // the queue and its counters survive a restart
  ASSERT_TRUE(again.Init().ok());
  EXPECT_EQ(again.queued(), 3);
  EXPECT_EQ(again.dropped(), 2u);
  auto first = test::SlurpJson(dir + "/telemetry/00000000000000000003.json");
  auto report = fleet::TelemetryReport::FromJson(first);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->inferences, 1u);
  EXPECT_EQ(report->errors, 1u);
  EXPECT_EQ(report->latency_buckets[fleet::LatencyBucket(302)], 1u);
  std::filesystem::remove_all(dir);
}

TEST(AgentWire, AssignmentAndReportRoundTrip) {
  fleet::Assignment a;
  a.reason = "rollout";
  a.model = "vad";
  a.version = "1.2.0";
  a.manifest_version = 3;
  a.manifest = {{"signed", {{"x", 1}}}, {"signatures", fleet::Json::array()}};
  a.rollout_id = "ro_1";
  a.etag = "\"a-1\"";
  a.poll_after_s = 57;
  auto back = fleet::Assignment::FromJson(a.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->manifest_version, 3);
  EXPECT_EQ(back->etag, a.etag);
  EXPECT_EQ(back->manifest, a.manifest);
  // "none" carries nulls; unknown reasons, missing manifests and wrong types are refused.
  auto none = fleet::Assignment::FromJson(fleet::Json{{"reason", "none"},
                                                      {"model", nullptr},
                                                      {"version", nullptr},
                                                      {"manifest", nullptr},
                                                      {"rollout_id", nullptr},
                                                      {"etag", "\"n\""}});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->model.empty());
  EXPECT_FALSE(fleet::Assignment::FromJson(fleet::Json{{"model", 3}}).ok());
  fleet::Json no_manifest = a.ToJson();
  no_manifest["manifest"] = nullptr;
  EXPECT_FALSE(fleet::Assignment::FromJson(no_manifest).ok());
  fleet::Json odd = a.ToJson();
  odd["reason"] = "because";
  EXPECT_FALSE(fleet::Assignment::FromJson(odd).ok());

  fleet::TelemetryReport r;
  r.seq = 2;
  r.from = 10;
  r.to = 20;
  r.model = "vad";
  r.version = "1.2.0";
  r.inferences = 5;
  r.latency_buckets[1] = 5;
  r.events.push_back({15, "install", "vad", "1.2.0", "1.1.0", "slot b"});
  r.events.push_back({16, "registered", "", "", "", "dev_1"});
  r.events.push_back({17, "rollback", "vad", "", "1.2.0", "no previous"});
  auto rb = fleet::TelemetryReport::FromJson(r.ToJson());
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_EQ(rb->events.at(0).kind, "install");
  EXPECT_EQ(rb->events.at(0).from_version, "1.1.0");
  fleet::Json bad = r.ToJson();
  bad["latency_buckets"] = {1, 2};
  EXPECT_FALSE(fleet::TelemetryReport::FromJson(bad).ok());
  // The hub batch: one report row, the install as a swap, local-only events left out.
  fleet::Json batch = r.ToHubBatch("dev_1");
  EXPECT_EQ(batch["batch_id"], "dev_1-2");
  EXPECT_EQ(batch["active"]["version"], "1.2.0");
  ASSERT_EQ(batch["reports"].size(), 1u);
  EXPECT_EQ(batch["reports"][0]["latency_ms"]["counts"][1], 5);
  ASSERT_EQ(batch["events"].size(), 1u);
  EXPECT_EQ(batch["events"][0]["type"], "swap");
  EXPECT_EQ(batch["events"][0]["from_version"], "1.1.0");
  EXPECT_EQ(fleet::LatencyBucket(0), 0u);
  EXPECT_EQ(fleet::LatencyBucket(1000), 0u);
  EXPECT_EQ(fleet::LatencyBucket(1001), 1u);
  EXPECT_EQ(fleet::LatencyBucket(20000000), fleet::kLatencyBucketCount - 1);
}

TEST(AgentSlots, PointerAndSlotVerification) {
  const std::string dir = TempDir();
  SlotStore slots(dir, CrashPoints());
  ASSERT_TRUE(slots.Init().ok());
  auto none = slots.ReadPointer();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  const std::string model = dir + "/model.dl";
  ASSERT_TRUE(fleet::WriteFileAtomic(model, "model bytes").ok());
  SlotInfo info{"m", "1", 1, "fp32", fleet::HexEncode(fleet::Sha256("model bytes")), 11, "", 0};
  ASSERT_TRUE(slots.Stage("a", info, model, "").ok());
  ASSERT_TRUE(slots.VerifySlot("a").ok());
  ASSERT_TRUE(slots.WritePointer({"a", true, 1, ""}, "switch").ok());
  auto p = slots.ReadPointer();
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_TRUE((*p)->trial);
  // A damaged model file no longer verifies.
  ASSERT_TRUE(fleet::WriteFileAtomic(slots.ModelPath("a"), "model bytez").ok());
  EXPECT_FALSE(slots.VerifySlot("a").ok());
  EXPECT_FALSE(slots.VerifySlot("b").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tern::agent
