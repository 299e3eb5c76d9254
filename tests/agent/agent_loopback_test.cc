// tern-agent against a real tern-hub, both as processes on 127.0.0.1 with temporary folders.
// Covers install, update while serving, every refusal, the hub going away, resume after a kill
// during download, a crash at every step of an update, and rollback after a failed health check.
// Every wait is bounded.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cmath>
#include <random>

#include "agent_test_util.h"
#include "fleet/crypto.h"

namespace tern::agent {
namespace {

using namespace test;  // NOLINT

class AgentLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = MakeTempDir("tern-agent");
    ASSERT_FALSE(tmp_.empty());
    hub_ = std::make_unique<Hub>(tmp_ + "/hub");
    ASSERT_TRUE(hub_->Start()) << Slurp(tmp_ + "/hub.log");
    ASSERT_TRUE(Provision(*hub_, tmp_)) << "no enroll key or root metadata from the hub";
    state_ = tmp_ + "/state";
  }
  void TearDown() override {
    if (daemon_ > 0) {
      kill(daemon_, SIGKILL);
      waitpid(daemon_, nullptr, 0);
    }
    hub_.reset();
    if (!HasFailure()) std::filesystem::remove_all(tmp_);
  }

  // Publishes Y = X + w as `version`, with a probe that expects X + probe_w.
  void Publish(const std::string& version, float w, float probe_w, std::string model_bytes = "") {
    if (model_bytes.empty()) model_bytes = AddModel(w);
    const std::string sha = hub_->Upload(model_bytes);
    ASSERT_TRUE(fleet::IsSha256Hex(sha));
    const std::string probe = hub_->Upload(ProbeArchive(tmp_ + "/probe-" + version, probe_w));
    ASSERT_TRUE(fleet::IsSha256Hex(probe));
    Json body = {{"version", version},
                 {"variants",
                  {{{"name", "fp32"},
                    {"precision", "fp32"},
                    {"provider", "ref"},
                    {"sha256", sha},
                    {"probe_sha256", probe}},
                   {{"name", "fp32-future"},
                    {"precision", "fp32"},
                    {"provider", "cpu"},
                    {"cpu_features", {"avx1024"}},
                    {"sha256", probe}}}}};
    auto r = hub_->Admin().Call("POST", "/v1/models/adder/versions", body.dump());
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 201) << r->body;
    shas_[version] = sha;
  }

  std::vector<std::string> AgentArgs(const std::string& version, const std::string& hub_url) {
    return {TERN_AGENT_BINARY, "run",   "--config",  tmp_ + "/agent.json",
            "--hub",           hub_url, "--version", version};
  }

  void WriteConfig(Json extra = Json::object()) {
    Json c = {{"hub_url", hub_->url()},
              {"state_dir", state_},
              {"root_file", tmp_ + "/root.json"},
              {"enroll_key_file", tmp_ + "/enroll.key"},
              {"model", "adder"},
              {"device_name", "test-device"},
              {"poll_interval_s", 1},
              {"telemetry_interval_s", 1},
              {"max_attempts", 3},
              {"backoff_initial_ms", 20},
              {"backoff_max_ms", 100},
              {"http_timeout_s", 10}};
    c.update(extra);
    ASSERT_TRUE(fleet::WriteFileAtomic(tmp_ + "/agent.json", c.dump()).ok());
  }

  // tern-agent run --once; returns its exit code.
  int Once(const std::string& version = "latest", std::map<std::string, std::string> env = {},
           std::string hub_url = "", std::vector<std::string> extra = {}) {
    auto args = AgentArgs(version, hub_url.empty() ? hub_->url() : hub_url);
    args.push_back("--once");
    args.insert(args.end(), extra.begin(), extra.end());
    return WaitExit(Spawn(args, env, tmp_ + "/agent.log"));
  }

  Json StatusJson() { return SlurpJson(state_ + "/status.json"); }
  std::string ActiveVersion() {
    Json s = StatusJson();
    if (!s.is_object() || !s["active"].is_object()) return "";
    return s["active"].value("model_version", "");
  }

  void StartDaemon(const std::string& hub_url = "") {
    daemon_ = Spawn(AgentArgs("latest", hub_url.empty() ? hub_->url() : hub_url), {},
                    tmp_ + "/agent.log");
    for (int i = 0; i < 200; ++i) {
      if (!Info().is_null()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "the agent did not open its socket\n" << Slurp(tmp_ + "/agent.log");
  }
  int StopDaemon() {
    kill(daemon_, SIGTERM);
    int code = WaitExit(daemon_, 30);
    daemon_ = -1;
    return code;
  }
  Json Info() {
    auto r = SocketRequest(state_ + "/agent.sock", "I");
    if (!r.ok() || r->empty() || (*r)[0] != 0) return Json();
    return Json::parse(r->substr(1), nullptr, false);
  }
  std::string ServedVersion() {
    Json i = Info();
    return i.is_object() && i["serving"] == true ? i["model"].value("model_version", "") : "";
  }
  // Runs the served model on Ramp(3); returns Y - X (the model's W) or NaN on error.
  float ServedW() {
    auto r = SocketRequest(state_ + "/agent.sock", EncodeRunRequest({TensorBytes(Ramp(3))}));
    if (!r.ok()) return NAN;
    auto outs = DecodeRunReply(*r);
    if (!outs.ok() || outs->size() != 1) return NAN;
    std::vector<float> y = TensorValues((*outs)[0]);
    std::vector<float> x = Ramp(3);
    if (y.size() != x.size()) return NAN;
    float w = y[0] - x[0];
    for (size_t i = 0; i < y.size(); ++i) {
      if (y[i] - x[i] != w) return NAN;  // a torn answer: two models mixed in one run
    }
    return w;
  }

  // Sets a column of one model version in the hub's database (what a compromised mirror or a
  // damaged disk would serve).
  void SetManifest(const std::string& version, const std::string& manifest) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((hub_->data() + "/hub.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE model_versions SET manifest = ? WHERE version = ?", -1,
                                 &st, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(st, 1, manifest.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, version.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  std::string Manifest(const std::string& version) {
    auto r = hub_->Admin().Call("GET", "/v1/models/adder/versions/" + version + "/manifest");
    return r.ok() ? Trim(r->body) : "";
  }

  std::string tmp_, state_;
  std::unique_ptr<Hub> hub_;
  std::map<std::string, std::string> shas_;
  pid_t daemon_ = -1;
};

TEST_F(AgentLoopback, FreshInstallThenUpdateWhileServing) {
  Publish("1.0.0", 1, 1);
  WriteConfig();
  ASSERT_EQ(Once(), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  EXPECT_EQ(StatusJson()["active"]["variant"], "fp32");  // the avx1024 variant cannot run here
  struct stat st {};
  ASSERT_EQ(stat((state_ + "/device.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Once(), 0);  // nothing new: up to date, no second registration
  EXPECT_EQ(StatusJson()["outcome"], "up_to_date");

  StartDaemon();
  EXPECT_EQ(ServedW(), 1.0f);
  // Clients keep running while the update lands; every answer comes whole from one model.
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, bad{0};
  std::thread client([&] {
    while (!done) {
      float w = ServedW();
      (w == 1.0f || w == 2.0f ? ok : bad)++;
    }
  });
  Publish("2.0.0", 2, 2);
  for (int i = 0; i < 300 && ServedVersion() != "2.0.0"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ServedVersion(), "2.0.0") << Slurp(tmp_ + "/agent.log");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  done = true;
  client.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_EQ(ServedW(), 2.0f);
  EXPECT_EQ(StopDaemon(), 0);
  EXPECT_EQ(ActiveVersion(), "2.0.0");
  EXPECT_EQ(StatusJson()["slot"], "b");
}

// An update that changes a few weights travels as a zstd patch against the installed file.
TEST_F(AgentLoopback, UpdateTravelsAsADeltaWhenSmaller) {
  std::mt19937 rng(7);
  std::vector<float> w(kElems);
  for (auto& v : w) v = static_cast<float>(rng() % 100000) / 7.0f;  // incompressible
  auto model = [&] {
    tern::test::ModelBuilder b;
    b.Input("X", ::onnx::TensorProto::FLOAT, {kElems})
        .Output("Y", ::onnx::TensorProto::FLOAT, {kElems})
        .FloatInit("W", {kElems}, w);
    b.Node("Add", {"X", "W"}, {"Y"});
    return b.Bytes();
  };
  auto publish = [&](const std::string& version, const std::string& bytes) {
    const std::string sha = hub_->Upload(bytes);
    ASSERT_TRUE(fleet::IsSha256Hex(sha));
    Json body = {{"version", version},
                 {"variants", {{{"name", "fp32"}, {"precision", "fp32"}, {"sha256", sha}}}}};
    auto r = hub_->Admin().Call("POST", "/v1/models/adder/versions", body.dump());
    ASSERT_TRUE(r.ok() && r->status == 201);
    shas_[version] = sha;
  };
  const std::string v1 = model();
  publish("1", v1);
  WriteConfig();
  ASSERT_EQ(Once("1"), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(StatusJson()["last_fetch"]["delta"], false);
  for (int i = 0; i < 50; ++i) w[static_cast<size_t>(i) * 1999] += 1.0f;
  const std::string v2 = model();
  publish("2", v2);
  ASSERT_EQ(Once("2"), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "2");
  Json fetch = StatusJson()["last_fetch"];
  EXPECT_EQ(fetch["sha256"], shas_["2"]);
  EXPECT_EQ(fetch["delta"], true) << Slurp(tmp_ + "/agent.log");
  EXPECT_LT(fetch["bytes"].get<uint64_t>(), v2.size() / 10) << fetch.dump();
  // The hub made the patch once and keeps it as a blob; asking again gives the same one.
  auto d1 = hub_->Admin().Call("GET", "/v1/blobs/" + shas_["2"] + "/delta?from=" + shas_["1"]);
  auto d2 = hub_->Admin().Call("GET", "/v1/blobs/" + shas_["2"] + "/delta?from=" + shas_["1"]);
  ASSERT_TRUE(d1.ok() && d2.ok());
  EXPECT_EQ(d1->status, 200);
  EXPECT_EQ(d1->body, d2->body);
  // Nonsense pairs are refused.
  auto same = hub_->Admin().Call("GET", "/v1/blobs/" + shas_["2"] + "/delta?from=" + shas_["2"]);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->status, 400);
  auto missing = hub_->Admin().Call("GET", "/v1/blobs/" + shas_["2"] + "/delta?from=" +
                                               std::string(64, 'a'));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  // With deltas off the whole file comes.
  publish("3", AddModel(3.0f));
  WriteConfig({{"delta_updates", false}});
  ASSERT_EQ(Once("3"), 0);
  EXPECT_EQ(StatusJson()["last_fetch"]["delta"], false);
}

TEST_F(AgentLoopback, CorruptedBlobIsRefused) {
  Publish("1.0.0", 1, 1);
  WriteConfig();
  ASSERT_EQ(Once(), 0);
  Publish("2.0.0", 2, 2);
  // Flip one byte of the stored blob: same size, wrong hash.
  const std::string blob = hub_->data() + "/blobs/sha256/" + shas_["2.0.0"];
  std::string bytes = Slurp(blob);
  ASSERT_FALSE(bytes.empty());
  bytes[bytes.size() / 2] ^= 0x40;
  ASSERT_TRUE(fleet::WriteFileAtomic(blob, bytes).ok());
  EXPECT_EQ(Once(), 4) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  EXPECT_FALSE(std::filesystem::exists(state_ + "/downloads/" + shas_["2.0.0"]));
}

TEST_F(AgentLoopback, BadSignatureIsRefused) {
  Publish("1.0.0", 1, 1);
  WriteConfig();
  ASSERT_EQ(Once(), 0);
  Publish("2.0.0", 2, 2);
  Json env = Json::parse(Manifest("2.0.0"));
  std::string sig = env["signatures"][0]["sig"];
  sig[3] = sig[3] == 'A' ? 'B' : 'A';
  env["signatures"][0]["sig"] = sig;
  SetManifest("2.0.0", env.dump());
  EXPECT_EQ(Once(), 4);
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  // A signed body changed after signing (here: another blob) fails the same way.
  env = Json::parse(Manifest("2.0.0"));
  env["signed"]["variants"][0]["sha256"] = shas_["1.0.0"];
  SetManifest("2.0.0", env.dump());
  EXPECT_EQ(Once(), 4);
  EXPECT_EQ(ActiveVersion(), "1.0.0");
}

TEST_F(AgentLoopback, ReplayedOlderManifestIsRefused) {
  Publish("1.0.0", 1, 1);
  Publish("2.0.0", 2, 2);
  WriteConfig();
  ASSERT_EQ(Once(), 0);
  ASSERT_EQ(ActiveVersion(), "2.0.0");
  // The hub (or a mirror) now answers for 2.0.0 with the older, validly signed 1.0.0 manifest.
  SetManifest("2.0.0", Manifest("1.0.0"));
  EXPECT_EQ(Once(), 4);
  EXPECT_EQ(ActiveVersion(), "2.0.0");
  // And asking for 1.0.0 outright is refused too: its counter is older than what was seen.
  EXPECT_EQ(Once("1.0.0"), 4);
  EXPECT_EQ(ActiveVersion(), "2.0.0");
}

TEST_F(AgentLoopback, ExpiredMetadataIsRefused) {
  Publish("1.0.0", 1, 1);
  WriteConfig();
  // A device whose clock reads 400 days ahead: the manifest (365 days) has expired.
  EXPECT_EQ(Once("latest", {{"TERN_AGENT_TIME_OFFSET", std::to_string(400 * 86400)}}), 4);
  EXPECT_EQ(ActiveVersion(), "");
  EXPECT_FALSE(std::filesystem::exists(state_ + "/current"));
  EXPECT_EQ(Once(), 0);
  EXPECT_EQ(ActiveVersion(), "1.0.0");
}

TEST_F(AgentLoopback, HubDownKeepsServingAndQueuesTelemetry) {
  Publish("1.0.0", 1, 1);
  WriteConfig({{"telemetry_max_reports", 2}});
  ASSERT_EQ(Once(), 0);
  const std::string url = hub_->url();
  hub_->Stop();
  StartDaemon(url);
  for (int i = 0; i < 40; ++i) {  // about 4 s: several telemetry cuts with inferences in each
    EXPECT_EQ(ServedW(), 1.0f);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(StopDaemon(), 0);
  EXPECT_EQ(StatusJson()["outcome"], "error");
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(state_ + "/telemetry")) {
    files += e.path().filename().string().size() == 25;
  }
  EXPECT_GE(files, 1);
  EXPECT_LE(files, 2);
  EXPECT_GE(SlurpJson(state_ + "/telemetry/meta.json")["dropped"].get<int>(), 1);
}

TEST_F(AgentLoopback, KilledDuringDownloadResumesWithRange) {
  Publish("1.0.0", 1, 1);
  WriteConfig();
  EXPECT_EQ(Once("latest", {{"TERN_AGENT_CRASH_AT", "download_mid"}}), 3);
  const std::string partial = state_ + "/downloads/" + shas_["1.0.0"] + ".partial";
  ASSERT_TRUE(std::filesystem::exists(partial));
  const uint64_t have = std::filesystem::file_size(partial);
  EXPECT_GT(have, 0u);
  EXPECT_LT(have, AddModel(1).size());
  EXPECT_EQ(Once(), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  EXPECT_EQ(StatusJson()["resumed_from"].get<uint64_t>(), have);
}

TEST_F(AgentLoopback, HealthCheckFailureRollsBack) {
  Publish("1.0.0", 1, 1);
  WriteConfig();
  ASSERT_EQ(Once(), 0);
  Publish("2.0.0", 2, 5);  // the probe expects X + 5, the model gives X + 2
  EXPECT_EQ(Once(), 2) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  EXPECT_EQ(Once(), 0);  // known bad: skipped, not retried
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  Publish("3.0.0", 3, 3, "this is not an ONNX model");  // fails to load
  EXPECT_EQ(Once(), 2);
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  Publish("4.0.0", 4, 4);
  EXPECT_EQ(Once(), 0);
  EXPECT_EQ(ActiveVersion(), "4.0.0");
}

TEST_F(AgentLoopback, DamagedPointerOrSlotIsRecovered) {
  Publish("1.0.0", 1, 1);
  Publish("2.0.0", 2, 2);
  WriteConfig();
  ASSERT_EQ(Once("1.0.0"), 0);
  ASSERT_EQ(Once("2.0.0"), 0);
  ASSERT_TRUE(fleet::WriteFileAtomic(state_ + "/current", "{garbage").ok());
  EXPECT_EQ(Once("2.0.0", {}, "http://127.0.0.1:1"), 1);  // no hub: recovery alone
  EXPECT_NE(ActiveVersion(), "");
  // The live slot's model damaged on disk: the agent falls back to the other verified slot.
  ASSERT_EQ(Once("2.0.0"), 0);
  const std::string live = StatusJson()["slot"];
  ASSERT_TRUE(fleet::WriteFileAtomic(state_ + "/slots/" + live + "/model.onnx", "damaged").ok());
  EXPECT_EQ(Once("2.0.0", {}, "http://127.0.0.1:1"), 1);
  EXPECT_NE(StatusJson()["slot"], live);
  EXPECT_NE(ActiveVersion(), "");
  EXPECT_EQ(Once("2.0.0"), 0);  // and the next sync reinstalls 2.0.0
  EXPECT_EQ(ActiveVersion(), "2.0.0");
}

TEST_F(AgentLoopback, DownloadsWaitForConditions) {
  Publish("1.0.0", 1, 1);
  const std::string cond = tmp_ + "/conditions.json";
  WriteConfig({{"download_conditions", {{"require_unmetered", true}, {"conditions_file", cond}}}});
  EXPECT_EQ(Once(), 0);  // no conditions file: cost unknown, so no download
  EXPECT_EQ(ActiveVersion(), "");
  ASSERT_TRUE(fleet::WriteFileAtomic(cond, R"({"metered": true, "charging": true})").ok());
  EXPECT_EQ(Once(), 0);
  EXPECT_EQ(ActiveVersion(), "");
  EXPECT_FALSE(std::filesystem::exists(state_ + "/downloads/" + shas_["1.0.0"] + ".partial"));
  ASSERT_TRUE(fleet::WriteFileAtomic(cond, R"({"metered": false, "charging": false})").ok());
  EXPECT_EQ(Once(), 0);
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  EXPECT_EQ(Once("latest", {}, "", {"--require-charging"}), 0);  // flags add conditions
}

// A crash at every step of an update, then a restart: the device must come back with a
// verified, runnable model (old or new, never neither), and the next sync must converge.
TEST_F(AgentLoopback, CrashAtEveryStepLeavesARunnableDevice) {
  Publish("1.0.0", 1, 1);
  Publish("2.0.0", 2, 2);
  Publish("3.0.0", 3, 7);  // fails its health check
  const std::vector<std::string> steps = {"download_mid",   "download_done", "stage_cleared",
                                          "stage_model",    "stage_done",    "switch_tmp",
                                          "switch_renamed", "health_begin",  "health_passed",
                                          "commit_tmp",     "commit_renamed"};
  const std::vector<std::string> bad_steps = {"health_begin", "rollback_begin", "rollback_tmp",
                                              "rollback_renamed"};
  auto run = [&](const std::string& step, const std::string& target, const std::string& want) {
    SCOPED_TRACE(step + " → " + target);
    std::filesystem::remove_all(state_);
    // Whole-file downloads, so that a crash lands in the middle of one (a patch of these models
    // is a few bytes; UpdateTravelsAsADeltaWhenSmaller covers deltas).
    WriteConfig({{"delta_updates", false}});
    ASSERT_EQ(Once("1.0.0"), 0);
    ASSERT_EQ(ActiveVersion(), "1.0.0");
    ASSERT_EQ(Once(target, {{"TERN_AGENT_CRASH_AT", step}}), 3) << Slurp(tmp_ + "/agent.log");
    // Restart with no hub: recovery alone must leave a verified model to serve.
    EXPECT_EQ(Once(target, {}, "http://127.0.0.1:1"), 1);
    std::string recovered = ActiveVersion();
    EXPECT_TRUE(recovered == "1.0.0" || recovered == target) << recovered;
    // Then the hub again: the update finishes (or is rolled back and stays so).
    int code = Once(target);
    EXPECT_TRUE(code == 0 || code == 2) << code;
    EXPECT_EQ(ActiveVersion(), want) << Slurp(tmp_ + "/agent.log");
  };
  for (const auto& s : steps) run(s, "2.0.0", "2.0.0");
  for (const auto& s : bad_steps) run(s, "3.0.0", "1.0.0");
}

}  // namespace
}  // namespace tern::agent
