// The operator's side, as real processes on 127.0.0.1: the `tern` CLI (keys, publish, rollout,
// devices) against a real tern-hub, with real tern-agent runs checking the result. Covers a
// targets and a root key rotation on a running hub (root key offline), a manifest signed by a key
// the root does not certify, and the hub re-signing manifests before they expire.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/socket.h>

#include <mutex>
#include <set>

#include "agent_test_util.h"
#include "fleet/crypto.h"
#include "fleet/key_dir.h"
#include "fleet/metadata.h"

namespace tern::agent {
namespace {

using namespace test;  // NOLINT

struct CliResult {
  int code = -1;
  std::string out;
};

// Runs the real `tern` binary; stdout is captured, stderr goes to the log.
CliResult Tern(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
               const std::string& log) {
  std::string cmd;
  for (const auto& [k, v] : env) cmd += k + "='" + v + "' ";
  cmd += TERN_CLI_BINARY;
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>>" + log;
  CliResult r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  while (p && fgets(buf, sizeof buf, p)) r.out += buf;
  int status = p ? pclose(p) : -1;
  r.code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A loopback TCP proxy that relays connection k in full unless cuts[k] says otherwise: then it
// closes both sides once cuts[k] bytes of the answer went through (mid-header for small values,
// mid-body for large ones). What a flaky radio link does to an agent.
class CuttingProxy {
 public:
  CuttingProxy(int upstream_port, std::vector<size_t> cuts)
      : upstream_port_(upstream_port), cuts_(std::move(cuts)) {}
  ~CuttingProxy() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    for (auto& t : relays_) t.join();
    if (listen_fd_ >= 0) close(listen_fd_);
  }
  bool Start() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    if (listen(listen_fd_, 64) != 0) return false;
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
    return true;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  /// Bytes of the answer relayed before each cut.
  std::vector<size_t> cuts_made() {
    std::lock_guard<std::mutex> lock(mu_);
    return made_;
  }

 private:
  void Accept() {
    size_t index = 0;
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) continue;
      const size_t cut = index < cuts_.size() ? cuts_[index] : SIZE_MAX;
      ++index;
      relays_.emplace_back([this, client, cut] { Relay(client, cut); });
    }
  }
  void Relay(int client, size_t cut) {
    int up = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    if (connect(up, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(up);
      close(client);
      return;
    }
    size_t answered = 0;
    char buf[16384];
    bool open = true;
    while (open && !stop_) {
      pollfd p[2] = {{client, POLLIN, 0}, {up, POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      if (p[0].revents) {
        ssize_t n = read(client, buf, sizeof buf);
        open = n > 0 && write(up, buf, static_cast<size_t>(n)) == n;
      }
      if (open && p[1].revents) {
        ssize_t n = read(up, buf, sizeof buf);
        if (n <= 0) break;
        size_t send = std::min<size_t>(static_cast<size_t>(n), cut - answered);
        open = write(client, buf, send) == static_cast<ssize_t>(send);
        answered += send;
        if (answered >= cut) {
          std::lock_guard<std::mutex> lock(mu_);
          made_.push_back(answered);
          open = false;
        }
      }
    }
    close(up);
    close(client);
  }

  int upstream_port_;
  std::vector<size_t> cuts_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> relays_;  // only the acceptor adds; joined after it
  std::mutex mu_;
  std::vector<size_t> made_;
};

class FleetOps : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = MakeTempDir("tern-ops");
    ASSERT_FALSE(tmp_.empty());
    state_ = tmp_ + "/state";
    log_ = tmp_ + "/cli.log";
  }
  void TearDown() override {
    hub_.reset();
    if (!HasFailure()) std::filesystem::remove_all(tmp_);
  }

  void StartHub(std::vector<std::string> args = {}, const std::string& ca_file = "") {
    if (hub_) hub_->Stop();
    hub_ = std::make_unique<Hub>(tmp_ + "/hub", std::move(args));
    if (!ca_file.empty()) hub_->UseTls(ca_file);
    ASSERT_TRUE(hub_->Start()) << Slurp(tmp_ + "/hub.log");
  }
  std::map<std::string, std::string> AdminEnv() {
    return {{"TERN_API_KEY", Trim(Slurp(hub_->data() + "/admin.key"))}};
  }

  // `tern publish` of Y = X + w with a probe expecting X + probe_w; the CLI's exit code.
  int Publish(const std::string& version, float w, float probe_w) {
    const std::string dir = tmp_ + "/pub-" + version;
    std::filesystem::create_directories(dir + "/probe");
    EXPECT_FALSE(ProbeArchive(dir + "/probe", probe_w).empty());
    std::filesystem::remove(dir + "/probe/probe.tar");  // the CLI packs the folder itself
    EXPECT_TRUE(fleet::WriteFileAtomic(dir + "/model.onnx", AddModel(w)).ok());
    return Tern({"publish", dir + "/model.onnx", "--hub", hub_->url(), "--name", "adder",
                 "--version", version, "--variant", "precision=fp32,provider=ref", "--probe",
                 dir + "/probe", "--ca-file", ca_file_},
                AdminEnv(), log_)
        .code;
  }

  void WriteConfig(const std::string& root_file, Json extra = Json::object()) {
    Json c = {{"hub_url", hub_->url()}, {"state_dir", state_},
              {"root_file", root_file}, {"enroll_key_file", tmp_ + "/enroll.key"},
              {"model", "adder"},       {"device_name", "ops-device"},
              {"poll_interval_s", 1},   {"telemetry_interval_s", 1},
              {"max_attempts", 3},      {"backoff_initial_ms", 20},
              {"backoff_max_ms", 100},  {"http_timeout_s", 10}};
    c.update(extra);
    ASSERT_TRUE(fleet::WriteFileAtomic(tmp_ + "/agent.json", c.dump()).ok());
    const std::string enroll = hub_->CreateEnrollKey();
    ASSERT_EQ(enroll.rfind("tern_enr_", 0), 0u);
    ASSERT_TRUE(fleet::WriteFileAtomic(tmp_ + "/enroll.key", enroll + "\n", 0600).ok());
  }
  int Once(const std::string& version = "latest", std::string hub_url = "") {
    if (hub_url.empty()) hub_url = hub_->url();
    std::vector<std::string> args = {
        TERN_AGENT_BINARY, "run",   "--config", tmp_ + "/agent.json", "--hub", hub_url,
        "--version",       version, "--once",   "--no-serve"};
    return WaitExit(Spawn(args, {}, tmp_ + "/agent.log"));
  }
  std::string ActiveVersion() {
    Json s = SlurpJson(state_ + "/status.json");
    if (!s.is_object() || !s["active"].is_object()) return "";
    return s["active"].value("model_version", "");
  }
  int64_t TrustedRootVersion() {
    Json t = SlurpJson(state_ + "/trust.json");
    if (!t.is_object() || !t["root"].is_object()) return 0;
    return t["root"]["signed"].value("version", int64_t{0});
  }
  Json Manifest(const std::string& version) {
    auto r = hub_->Admin().Call("GET", "/v1/models/adder/versions/" + version + "/manifest");
    return r.ok() ? Json::parse(r->body, nullptr, false) : Json();
  }
  // Waits (bounded) until the hub's health reports root `version` and every manifest of
  // `versions` is signed by `keyid`.
  bool WaitForKeys(int64_t version, const std::string& keyid,
                   const std::vector<std::string>& versions) {
    for (int i = 0; i < 100; ++i) {
      auto h = hub_->Admin().Call("GET", "/v1/health");
      Json hj = h.ok() ? Json::parse(h->body, nullptr, false) : Json();
      bool ok = hj.is_object() && hj.value("root_version", int64_t{0}) == version;
      for (const auto& v : versions) {
        Json m = Manifest(v);
        ok = ok && m.is_object() && m["signatures"][0].value("keyid", "") == keyid;
      }
      if (ok) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  std::string tmp_, state_, log_;
  std::string ca_file_;  ///< --ca-file for the CLI ("" = the system's CAs)
  std::unique_ptr<Hub> hub_;
};

TEST_F(FleetOps, KeyRotationOnARunningHubWithAnOfflineRoot) {
  const std::string offline = tmp_ + "/offline", hub_keys = tmp_ + "/hub-keys";
  ASSERT_EQ(Tern({"keys", "init", "--dir", offline}, {}, log_).code, 0) << Slurp(log_);
  ASSERT_EQ(Tern({"keys", "export", "--dir", offline, "--out", hub_keys}, {}, log_).code, 0)
      << Slurp(log_);
  // The hub never holds a root private key.
  for (const auto& e : std::filesystem::directory_iterator(hub_keys + "/keys")) {
    EXPECT_NE(e.path().filename().string().rfind("root-", 0), 0u) << e.path();
  }
  StartHub({"--keys", hub_keys, "--evaluate-every-ms", "100"});
  // The device's root comes from the offline folder, not from the hub.
  WriteConfig(offline + "/metadata/1.root.json");
  ASSERT_EQ(Publish("1.0.0", 1, 1), 0) << Slurp(log_);
  ASSERT_EQ(Once(), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  const std::string old_targets = fleet::LoadKeyDir(offline).value().targets_key.KeyId();

  // Targets key rotation: root v2, exported while the hub runs; the hub moves to it and
  // re-signs what it serves with the new key.
  CliResult rotated = Tern({"keys", "rotate", "--dir", offline}, {}, log_);
  ASSERT_EQ(rotated.code, 0) << Slurp(log_);
  ASSERT_EQ(Tern({"keys", "export", "--dir", offline, "--out", hub_keys}, {}, log_).code, 0);
  const std::string new_targets = fleet::LoadKeyDir(offline).value().targets_key.KeyId();
  ASSERT_NE(new_targets, old_targets);
  ASSERT_TRUE(WaitForKeys(2, new_targets, {"1.0.0"})) << Slurp(tmp_ + "/hub.log");
  ASSERT_EQ(Publish("2.0.0", 2, 2), 0) << Slurp(log_);
  ASSERT_EQ(Once(), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "2.0.0");
  EXPECT_EQ(TrustedRootVersion(), 2);

  // Root key rotation: v3 signed by the old and the new root key; the agent walks to it.
  ASSERT_EQ(Tern({"keys", "rotate", "--dir", offline, "--root"}, {}, log_).code, 0) << Slurp(log_);
  ASSERT_EQ(Tern({"keys", "export", "--dir", offline, "--out", hub_keys}, {}, log_).code, 0);
  ASSERT_TRUE(WaitForKeys(3, new_targets, {"1.0.0", "2.0.0"}));
  ASSERT_EQ(Publish("3.0.0", 3, 3), 0) << Slurp(log_);
  ASSERT_EQ(Once(), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "3.0.0");
  EXPECT_EQ(TrustedRootVersion(), 3);

  // A manifest signed by the retired targets key (a stolen old key, say), with a counter above
  // everything seen, served by a hub that does not re-sign (long evaluation interval).
  ASSERT_EQ(Publish("4.0.0", 4, 4), 0) << Slurp(log_);
  Json env = Manifest("4.0.0");
  hub_->Stop();
  auto targets = fleet::TargetsMetadata::FromJson(env["signed"]);
  ASSERT_TRUE(targets.ok());
  targets->version += 100;
  auto old_key = fleet::KeyPair::Load(fleet::KeyFilePath(offline, "targets", old_targets));
  ASSERT_TRUE(old_key.ok());
  auto forged = fleet::SignEnvelope(targets->ToJson(), {&*old_key});
  ASSERT_TRUE(forged.ok());
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((tmp_ + "/hub/hub.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "UPDATE model_versions SET manifest = ? WHERE version = ?", -1,
                                 &st, nullptr),
              SQLITE_OK);
    const std::string text = forged->dump();
    sqlite3_bind_text(st, 1, text.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, "4.0.0", -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  StartHub({"--keys", hub_keys, "--evaluate-every-ms", "3600000"});
  WriteConfig(offline + "/metadata/1.root.json");  // the hub's port changed
  EXPECT_EQ(Once(), 4) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "3.0.0");
  EXPECT_NE(Slurp(tmp_ + "/agent.log").find("signature check failed"), std::string::npos)
      << Slurp(tmp_ + "/agent.log");
}

TEST_F(FleetOps, PublishRolloutAndDevicesThroughTheCli) {
  StartHub({"--evaluate-every-ms", "100"});
  ASSERT_TRUE(Provision(*hub_, tmp_));
  // No key: the hub refuses and the CLI says so.
  CliResult anon = Tern({"devices", "list", "--hub", hub_->url()}, {}, log_);
  EXPECT_EQ(anon.code, 1);
  EXPECT_NE(Slurp(log_).find("HTTP 401"), std::string::npos);
  // A model that fails its own probe never reaches the hub.
  EXPECT_NE(Publish("0.9.0", 1, 5), 0);
  auto missing = hub_->Admin().Call("GET", "/v1/models/adder/versions/0.9.0");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);

  ASSERT_EQ(Publish("1.0.0", 1, 1), 0) << Slurp(log_);
  ASSERT_EQ(Publish("2.0.0", 2, 2), 0) << Slurp(log_);
  EXPECT_NE(Publish("2.0.0", 2, 2), 0);  // 409: versions are immutable
  auto v = hub_->Admin().Call("GET", "/v1/models/adder/versions/2.0.0");
  ASSERT_TRUE(v.ok());
  Json vj = Json::parse(v->body, nullptr, false);
  ASSERT_EQ(vj["variants"].size(), 1u);
  EXPECT_EQ(vj["variants"][0]["name"], "fp32-ref");
  EXPECT_TRUE(
      fleet::IsSha256Hex(vj["manifest"]["signed"]["variants"][0].value("probe_sha256", "")));

  WriteConfig(tmp_ + "/root.json");
  ASSERT_EQ(Once("1.0.0"), 0) << Slurp(tmp_ + "/agent.log");
  ASSERT_EQ(ActiveVersion(), "1.0.0");

  // devices list / show
  CliResult list = Tern({"devices", "list", "--hub", hub_->url(), "--json"}, AdminEnv(), log_);
  ASSERT_EQ(list.code, 0) << Slurp(log_);
  Json devices = Json::parse(list.out, nullptr, false);
  ASSERT_TRUE(devices.is_object()) << list.out;
  ASSERT_EQ(devices["devices"].size(), 1u);
  const std::string id = devices["devices"][0]["id"];
  CliResult table = Tern({"devices", "list", "--hub", hub_->url()}, AdminEnv(), log_);
  EXPECT_EQ(table.code, 0);
  EXPECT_NE(table.out.find("LAST_SEEN"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(id), std::string::npos);
  EXPECT_NE(table.out.find("ops-device"), std::string::npos);
  CliResult show = Tern({"devices", "show", id, "--hub", hub_->url()}, AdminEnv(), log_);
  EXPECT_EQ(show.code, 0);
  EXPECT_NE(show.out.find("device " + id), std::string::npos) << show.out;
  EXPECT_EQ(Tern({"devices", "show", "dev_nope", "--hub", hub_->url()}, AdminEnv(), log_).code, 1);

  // A one-stage rollout of 2.0.0 reaches the device through its assignment.
  CliResult created =
      Tern({"rollout", "create", "--hub", hub_->url(), "--model", "adder", "--version", "2.0.0",
            "--previous", "1.0.0", "--stages", "100", "--min-devices", "1", "--json"},
           AdminEnv(), log_);
  ASSERT_EQ(created.code, 0) << Slurp(log_);
  Json ro = Json::parse(created.out, nullptr, false);
  ASSERT_TRUE(ro.is_object()) << created.out;
  const std::string ro_id = ro["id"];
  EXPECT_EQ(ro["state"], "running");
  ASSERT_EQ(Once(), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "2.0.0");
  CliResult status = Tern({"rollout", "status", ro_id, "--hub", hub_->url()}, AdminEnv(), log_);
  EXPECT_EQ(status.code, 0);
  EXPECT_NE(status.out.find("rollout " + ro_id + ": adder 2.0.0 (from 1.0.0)"), std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("GATE"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("history:"), std::string::npos) << status.out;

  // pause → resume → abort on a second rollout (another group, so the first may still run);
  // the state machine's refusals come back as errors.
  CliResult second =
      Tern({"rollout", "create", "--hub", hub_->url(), "--model", "adder", "--version", "1.0.0",
            "--group", "lab", "--stages", "50,100", "--min-soak-s", "3600", "--json"},
           AdminEnv(), log_);
  ASSERT_EQ(second.code, 0) << Slurp(log_);
  const std::string second_id = Json::parse(second.out, nullptr, false)["id"];
  auto state_after = [&](const std::string& action) {
    CliResult r =
        Tern({"rollout", action, second_id, "--hub", hub_->url(), "--json"}, AdminEnv(), log_);
    Json j = Json::parse(r.out, nullptr, false);
    return r.code == 0 && j.is_object() ? j.value("state", "") : "exit " + std::to_string(r.code);
  };
  EXPECT_EQ(state_after("pause"), "paused");
  EXPECT_EQ(state_after("resume"), "running");
  EXPECT_EQ(state_after("abort"), "aborted");
  EXPECT_EQ(state_after("resume"), "exit 1");
  CliResult all = Tern({"rollout", "status", "--hub", hub_->url()}, AdminEnv(), log_);
  EXPECT_EQ(all.code, 0);
  EXPECT_NE(all.out.find(ro_id), std::string::npos) << all.out;
  EXPECT_NE(all.out.find(second_id), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("aborted"), std::string::npos) << all.out;
}

TEST_F(FleetOps, ManifestsAreResignedBeforeTheyExpire) {
  StartHub({"--manifest-ttl-s", "4", "--evaluate-every-ms", "100"});
  ASSERT_TRUE(Provision(*hub_, tmp_));
  ASSERT_EQ(Publish("1.0.0", 1, 1), 0) << Slurp(log_);
  const int64_t first = Manifest("1.0.0")["signed"].value("version", int64_t{0});
  // For 6 s (one and a half lifetimes) the hub never serves an expired manifest.
  std::set<int64_t> counters;
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(6);
  while (std::chrono::steady_clock::now() < end) {
    Json m = Manifest("1.0.0");
    ASSERT_TRUE(m.is_object());
    auto expires = fleet::ParseTime(m["signed"].value("expires", ""));
    ASSERT_TRUE(expires.ok());
    EXPECT_GT(*expires, static_cast<int64_t>(std::time(nullptr)));
    counters.insert(m["signed"].value("version", int64_t{0}));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_GE(counters.size(), 3u);  // re-signed at least twice
  EXPECT_GT(*counters.rbegin(), first);
  // An agent arriving long after publication installs it: the manifest it gets is fresh.
  WriteConfig(tmp_ + "/root.json");
  ASSERT_EQ(Once(), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "1.0.0");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(Once(), 0) << Slurp(tmp_ + "/agent.log");  // a newer counter, same model: accepted
  EXPECT_EQ(SlurpJson(state_ + "/status.json")["outcome"], "up_to_date");
}

// Connections cut at many byte offsets between a real agent and a real hub: the agent retries
// and resumes, and after every run the device's live slot holds a complete, verified model.
TEST_F(FleetOps, DroppedConnectionsNeverLeaveAnUnverifiedModel) {
  StartHub();
  ASSERT_TRUE(Provision(*hub_, tmp_));
  ASSERT_EQ(Publish("1.0.0", 1, 1), 0) << Slurp(log_);
  std::vector<size_t> cuts;
  for (int round = 0; round < 6; ++round) {
    for (size_t at : {40, 700, 3000, 20000, 65536, 150000, 260000, 399000}) cuts.push_back(at);
  }
  CuttingProxy proxy(std::stoi(hub_->url().substr(hub_->url().rfind(':') + 1)), cuts);
  ASSERT_TRUE(proxy.Start());
  WriteConfig(tmp_ + "/root.json");

  std::map<std::string, std::string> published;  // version → sha256 of its model
  auto publish_sha = [&](const std::string& v) {
    published[v] = fleet::HexEncode(fleet::Sha256File(tmp_ + "/pub-" + v + "/model.onnx").value());
  };
  publish_sha("1.0.0");
  // The live slot (STATE/current) must name a complete slot whose model is one that was
  // published, byte for byte.
  auto check_live = [&]() {
    if (!std::filesystem::exists(state_ + "/current")) return;  // nothing installed: none runs
    Json pointer = SlurpJson(state_ + "/current");
    ASSERT_TRUE(pointer.is_object());
    const std::string slot = state_ + "/slots/" + pointer.value("slot", "?");
    Json info = SlurpJson(slot + "/slot.json");
    ASSERT_TRUE(info.is_object()) << "the live slot is incomplete";
    auto sha = fleet::Sha256File(slot + "/model.onnx");
    ASSERT_TRUE(sha.ok());
    const std::string version = info.value("model_version", "");
    ASSERT_TRUE(published.count(version)) << version;
    EXPECT_EQ(fleet::HexEncode(*sha), published[version]);
    EXPECT_EQ(info.value("sha256", ""), published[version]);
  };
  auto converge = [&](const std::string& version) {
    for (int run = 0; run < 40 && ActiveVersion() != version; ++run) {
      Once("latest", proxy.url());
      check_live();
      if (HasFatalFailure()) return;
    }
    EXPECT_EQ(ActiveVersion(), version) << Slurp(tmp_ + "/agent.log");
  };
  converge("1.0.0");
  ASSERT_EQ(Publish("2.0.0", 2, 2), 0) << Slurp(log_);
  publish_sha("2.0.0");
  converge("2.0.0");
  check_live();
  // The proxy really cut answers, some of them deep inside a model download.
  std::vector<size_t> made = proxy.cuts_made();
  EXPECT_GE(made.size(), 8u);
  EXPECT_GE(std::count_if(made.begin(), made.end(), [](size_t n) { return n >= 20000; }), 2);
}

// tern-hub serving HTTPS with a certificate made now by the openssl CLI; the agent and the CLI
// trust it through --ca-file / "ca_file" and refuse it without.
TEST_F(FleetOps, TlsHubWithASelfSignedCertificate) {
  const std::string cert = tmp_ + "/cert.pem", key = tmp_ + "/key.pem";
  const std::string make =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
      "-keyout " +
      key + " -out " + cert + " 2>>" + log_;
  ASSERT_EQ(std::system(make.c_str()), 0) << Slurp(log_);
  ca_file_ = cert;
  StartHub({"--tls-cert", cert, "--tls-key", key}, cert);
  ASSERT_EQ(hub_->url().rfind("https://", 0), 0u);
  ASSERT_TRUE(Provision(*hub_, tmp_));
  ASSERT_EQ(Publish("1.0.0", 1, 1), 0) << Slurp(log_);

  // An agent that does not trust the certificate gets nothing; one that does installs.
  WriteConfig(tmp_ + "/root.json");
  EXPECT_NE(Once(), 0);
  EXPECT_EQ(ActiveVersion(), "");
  EXPECT_NE(Slurp(tmp_ + "/agent.log").find("certificate"), std::string::npos)
      << Slurp(tmp_ + "/agent.log");
  WriteConfig(tmp_ + "/root.json", {{"ca_file", cert}});
  ASSERT_EQ(Once(), 0) << Slurp(tmp_ + "/agent.log");
  EXPECT_EQ(ActiveVersion(), "1.0.0");

  // The CLI likewise; and plain HTTP on the TLS port gets no answer.
  EXPECT_EQ(Tern({"devices", "list", "--hub", hub_->url()}, AdminEnv(), log_).code, 1);
  CliResult list =
      Tern({"devices", "list", "--hub", hub_->url(), "--ca-file", cert}, AdminEnv(), log_);
  EXPECT_EQ(list.code, 0) << Slurp(log_);
  EXPECT_NE(list.out.find("ops-device"), std::string::npos) << list.out;
  std::string plain = hub_->url();
  plain.replace(0, 5, "http");
  EXPECT_EQ(Tern({"devices", "list", "--hub", plain}, AdminEnv(), log_).code, 1);
}

}  // namespace
}  // namespace tern::agent
