// Real `tern-hub serve` processes on 127.0.0.1 (ephemeral port, temporary data folder), driven
// over HTTP with libcurl. Every wait is bounded.
#include <gtest/gtest.h>

#include <curl/curl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fleet/canonical_json.h"
#include "fleet/crypto.h"
#include "fleet/file_util.h"
#include "fleet/trust.h"
#include "hub_process.h"

namespace tern::hub {
namespace {

using fleet::Json;
using testing::CreateKey;
using testing::HubProcess;
using testing::Reply;
using testing::Trimmed;

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Runs `tern-hub keys create` and returns the printed token.
class HubLoopback : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "tern-hub-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    tmp_ = pattern;
    hub_ = std::make_unique<HubProcess>(tmp_ + "/data");
    ASSERT_TRUE(hub_->Start()) << "tern-hub did not become healthy";
    admin_ = hub_->AdminToken();
    ASSERT_EQ(admin_.rfind("tern_adm_", 0), 0u);
  }
  void TearDown() override {
    if (hub_) {
      EXPECT_EQ(hub_->Stop(), 0) << "tern-hub did not exit cleanly on SIGTERM";
    }
    std::filesystem::remove_all(tmp_);
  }

  // Uploads `data` as a blob and returns its sha256.
  std::string Upload(const std::string& data) {
    Reply r = hub_->Post("/v1/blobs", admin_, data, "application/octet-stream");
    EXPECT_TRUE(r.status == 201 || r.status == 200) << r.status << " " << r.body;
    return r.json().value("sha256", "");
  }

  Reply Publish(const std::string& model, const std::string& version, const std::string& sha) {
    Json body = {{"version", version},
                 {"metadata", {{"license", "MIT"}}},
                 {"variants",
                  {{{"name", "fp32"}, {"precision", "fp32"}, {"provider", "ref"}, {"sha256", sha}},
                   {{"name", "int8-avx2"},
                    {"precision", "int8"},
                    {"provider", "cpu"},
                    {"cpu_features", {"avx2", "fma"}},
                    {"sha256", sha}}}}};
    return hub_->Post("/v1/models/" + model + "/versions", admin_, body.dump());
  }

  std::string RegisterDevice(const std::string& token) {
    Json body = {{"name", "bench-1"},
                 {"capabilities",
                  {{"cpu_features", {"avx2", "fma", "sse4.2"}},
                   {"providers", {"cpu", "ref"}},
                   {"memory_bytes", 2147483648LL},
                   {"free_storage_bytes", 8589934592LL},
                   {"arch", "x86_64"}}}};
    Reply r = hub_->Post("/v1/devices/register", token, body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json().value("token", "");
  }

  std::string tmp_;
  std::unique_ptr<HubProcess> hub_;
  std::string admin_;
};

TEST_F(HubLoopback, HealthNeedsNoAuth) {
  Reply r = hub_->Get("/v1/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["status"], "ok");
  EXPECT_EQ(r.headers["content-type"], "application/json");
}

TEST_F(HubLoopback, EverythingElseNeedsAuth) {
  for (const char* path : {"/v1/models", "/v1/root.json", "/v1/devices", "/v1/nope",
                           "/v1/blobs/" "0000000000000000000000000000000000000000000000000000000000000000"}) {
    Reply none = hub_->Get(path);
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_TRUE(none.json().contains("error")) << path;
    EXPECT_NE(none.headers["www-authenticate"], "") << path;
    EXPECT_EQ(hub_->Get(path, "tern_adm_" + std::string(64, '0')).status, 401) << path;
    EXPECT_EQ(hub_->Get(path, admin_.substr(0, admin_.size() - 1) + "x").status, 401) << path;
  }
  EXPECT_EQ(hub_->Get("/v1/models", admin_).status, 200);
  EXPECT_EQ(hub_->Get("/v1/nope", admin_).status, 404);
  HubProcess::Options del;
  del.method = "DELETE";
  del.token = admin_;
  EXPECT_EQ(hub_->Call("/v1/models", del).status, 405);
  // An unauthenticated upload is refused before its body is read.
  EXPECT_EQ(hub_->Post("/v1/blobs", "", "data", "application/octet-stream").status, 401);
}

TEST_F(HubLoopback, PublishRegisterDownloadVerify) {
  const std::string data = RandomBytes(300000, 1);
  const std::string sha = Upload(data);
  EXPECT_EQ(sha, fleet::HexEncode(fleet::Sha256(data)));
  // Same bytes again: 200, same name.
  Reply again = hub_->Post("/v1/blobs", admin_, data, "application/octet-stream");
  EXPECT_EQ(again.status, 200);
  // A declared hash that does not match is refused.
  Reply wrong = hub_->Call("/v1/blobs", {"POST", admin_, {"X-Tern-Sha256: " + std::string(64, 'a')},
                                         "other", true, ""});
  EXPECT_EQ(wrong.status, 400);

  Reply pub = Publish("vad", "1.0.0", sha);
  ASSERT_EQ(pub.status, 201) << pub.body;
  EXPECT_EQ(Publish("vad", "1.0.0", sha).status, 409);
  EXPECT_EQ(Publish("vad", "1.1.0", std::string(64, 'b')).status, 400);  // blob never uploaded
  EXPECT_EQ(pub.json()["variants"][1]["cpu_features"], Json({"avx2", "fma"}));

  // Devices register with an enroll key (created by the CLI while the hub runs); that key can
  // do nothing else.
  const std::string enroll = CreateKey(hub_->data(), "enroll");
  ASSERT_EQ(enroll.rfind("tern_enr_", 0), 0u) << enroll;
  EXPECT_EQ(hub_->Get("/v1/models", enroll).status, 403);
  const std::string device = RegisterDevice(enroll);
  ASSERT_EQ(device.rfind("tern_dev_", 0), 0u);
  Reply self = hub_->Get("/v1/devices/self", device);
  ASSERT_EQ(self.status, 200);
  EXPECT_EQ(self.json()["capabilities"]["memory_bytes"], 2147483648LL);
  EXPECT_FALSE(self.json().contains("token"));
  EXPECT_EQ(hub_->Get("/v1/devices", device).status, 403);
  EXPECT_EQ(hub_->Get("/v1/devices", admin_).json()["devices"].size(), 1u);
  EXPECT_EQ(hub_->Post("/v1/blobs", device, "x", "application/octet-stream").status, 403);
  EXPECT_EQ(Publish("vad", "9.9.9", sha).status, 201);  // (admin can)

  // Download as the device: whole, ranges, conditional.
  const std::string blob = "/v1/blobs/" + sha;
  Reply full = hub_->Get(blob, device);
  ASSERT_EQ(full.status, 200);
  EXPECT_EQ(full.body, data);
  EXPECT_EQ(full.headers["etag"], "\"" + sha + "\"");
  EXPECT_EQ(full.headers["accept-ranges"], "bytes");
  Reply part = hub_->Get(blob, device, {"Range: bytes=1000-1999"});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, data.substr(1000, 1000));
  EXPECT_EQ(part.headers["content-range"], "bytes 1000-1999/300000");
  Reply tail = hub_->Get(blob, device, {"Range: bytes=-10"});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, data.substr(data.size() - 10));
  Reply resume = hub_->Get(blob, device, {"Range: bytes=299990-"});
  EXPECT_EQ(resume.body, data.substr(299990));
  Reply bad_range = hub_->Get(blob, device, {"Range: bytes=300000-"});
  EXPECT_EQ(bad_range.status, 416);
  EXPECT_EQ(bad_range.headers["content-range"], "bytes */300000");
  Reply cached = hub_->Get(blob, device, {"If-None-Match: \"" + sha + "\""});
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  EXPECT_EQ(hub_->Get(blob, device, {"If-None-Match: \"other\""}).status, 200);
  HubProcess::Options head;
  head.method = "HEAD";
  head.token = device;
  Reply h = hub_->Call(blob, head);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.headers["content-length"], "300000");
  EXPECT_EQ(hub_->Get("/v1/blobs/" + std::string(64, 'c'), device).status, 404);
  EXPECT_EQ(hub_->Get("/v1/blobs/XYZ", device).status, 400);

  // The manifest verifies against the hub's root, whose root key is the one in DATA/keys.
  Reply root = hub_->Get("/v1/root.json", device);
  ASSERT_EQ(root.status, 200);
  auto trust = fleet::TrustStore::Bootstrap(root.json());
  ASSERT_TRUE(trust.ok()) << trust.status().ToString();
  ASSERT_EQ(trust->root().root.keyids.size(), 1u);
  const std::string root_keyfile =
      hub_->data() + "/keys/root-" + trust->root().root.keyids[0] + ".key";
  auto root_key = fleet::KeyPair::Load(root_keyfile);
  ASSERT_TRUE(root_key.ok()) << root_key.status().ToString();
  EXPECT_EQ(root_key->KeyId(), trust->root().root.keyids[0]);
  EXPECT_EQ(hub_->Get("/v1/root/1.json", device).body, root.body);
  EXPECT_EQ(hub_->Get("/v1/root/2.json", device).status, 404);

  Reply manifest = hub_->Get("/v1/models/vad/versions/1.0.0/manifest", device);
  ASSERT_EQ(manifest.status, 200);
  auto targets = trust->VerifyTargets(manifest.json(), std::time(nullptr));
  ASSERT_TRUE(targets.ok()) << targets.status().ToString();
  EXPECT_EQ(targets->model, "vad");
  EXPECT_EQ(targets->model_version, "1.0.0");
  ASSERT_EQ(targets->variants.size(), 2u);
  EXPECT_EQ(targets->variants[0].sha256, sha);
  EXPECT_EQ(targets->variants[0].size, data.size());
  // The later version carries a higher counter; after seeing it, the older one is refused.
  Reply newer = hub_->Get("/v1/models/vad/versions/9.9.9/manifest", device);
  ASSERT_TRUE(trust->VerifyTargets(newer.json(), std::time(nullptr)).ok());
  EXPECT_FALSE(trust->VerifyTargets(manifest.json(), std::time(nullptr)).ok());
  // A tampered manifest is refused.
  Json tampered = newer.json();
  tampered["signed"]["variants"][0]["size"] = 1;
  EXPECT_FALSE(trust->VerifyTargets(tampered, std::time(nullptr)).ok());

  Reply versions = hub_->Get("/v1/models/vad/versions", device);
  ASSERT_EQ(versions.status, 200);
  EXPECT_EQ(versions.json()["versions"].size(), 2u);
  EXPECT_EQ(hub_->Get("/v1/models/nope/versions", device).status, 404);
  EXPECT_EQ(hub_->Get("/v1/models/vad/versions/0.0.1", device).status, 404);
}

TEST_F(HubLoopback, BadRequestsGet4xxAndChangeNothing) {
  // Malformed JSON.
  Reply bad = hub_->Post("/v1/models/vad/versions", admin_, "{\"version\": ");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(bad.json().contains("error"));
  EXPECT_EQ(hub_->Post("/v1/devices/register", admin_, "[1,2").status, 400);
  EXPECT_EQ(hub_->Post("/v1/devices/register", admin_, "{\"capabilities\": 5}").status, 400);
  EXPECT_EQ(hub_->Post("/v1/models/vad/versions", admin_, "{\"version\":\"../x\"}").status, 400);
  EXPECT_EQ(hub_->Post("/v1/models/vad/versions", admin_, "{}", "text/plain").status, 415);
  // Oversized: JSON over 1 MiB, blob over --max-upload-mb 2.
  EXPECT_EQ(hub_->Post("/v1/devices/register", admin_, std::string(1100000, ' ')).status, 413);
  EXPECT_EQ(hub_->Post("/v1/blobs", admin_, RandomBytes(3 << 20, 2), "application/octet-stream")
                .status,
            413);
  // A huge header.
  EXPECT_EQ(hub_->Get("/v1/models", admin_, {"X-Big: " + std::string(20000, 'a')}).status, 431);
  // Path tricks, sent verbatim.
  for (const char* target :
       {"/v1/blobs/../../etc/passwd", "/v1/%2e%2e/%2e%2e/etc/passwd", "/v1/blobs/..%2f..%2fhub.db",
        "/v1/models/%2e%2e/versions", "//etc/passwd", "/v1/blobs/%00", "http://evil/v1/models",
        "/v1/models/vad/versions/..%5c..%5cx"}) {
    HubProcess::Options o;
    o.token = admin_;
    o.raw_target = target;
    Reply r = hub_->Call("/", o);
    EXPECT_TRUE(r.status == 400 || r.status == 404) << target << " → " << r.status;
  }
  // Nothing changed, and the hub still serves.
  EXPECT_EQ(hub_->Get("/v1/models", admin_).json()["models"].size(), 0u);
  EXPECT_EQ(hub_->Get("/v1/devices", admin_).json()["devices"].size(), 0u);
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(hub_->data() + "/blobs/sha256", ec));
  EXPECT_TRUE(std::filesystem::is_empty(hub_->data() + "/tmp", ec));
  EXPECT_EQ(hub_->Get("/v1/health").status, 200);
}

TEST_F(HubLoopback, StateSurvivesRestart) {
  const std::string data = RandomBytes(5000, 3);
  const std::string sha = Upload(data);
  ASSERT_EQ(Publish("kws", "2.0.0", sha).status, 201);
  const std::string device = RegisterDevice(admin_);
  const std::string manifest = hub_->Get("/v1/models/kws/versions/2.0.0/manifest", device).body;
  const std::string root = hub_->Get("/v1/root.json", device).body;

  ASSERT_EQ(hub_->Stop(), 0);
  ASSERT_TRUE(hub_->Start());
  EXPECT_EQ(hub_->AdminToken(), admin_);  // not regenerated

  EXPECT_EQ(hub_->Get("/v1/root.json", device).body, root);
  EXPECT_EQ(hub_->Get("/v1/models/kws/versions/2.0.0/manifest", device).body, manifest);
  EXPECT_EQ(hub_->Get("/v1/blobs/" + sha, device).body, data);
  EXPECT_EQ(hub_->Get("/v1/devices/self", device).status, 200);
  EXPECT_EQ(Publish("kws", "2.0.0", sha).status, 409);
  // Counters continue where they were.
  Reply next = Publish("kws", "2.1.0", sha);
  ASSERT_EQ(next.status, 201);
  EXPECT_EQ(next.json()["manifest_version"], 2);
}

}  // namespace
}  // namespace tern::hub
