#include "fuzz_hub_body.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "fleet/canonical_json.h"
#include "fleet/file_util.h"
#include "hub/http_util.h"
#include "hub/hub.h"

namespace tern::fuzz {
namespace {

struct FuzzHub {
  std::string dir;
  std::unique_ptr<hub::Hub> hub;
  std::string admin, device, enroll;
  int uploads = 0;
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

hub::HttpResponse Call(FuzzHub& h, hub::HttpRequest req) {
  auto target = hub::ParseTarget(req.target);
  if (!target.ok()) return hub::ErrorResponse(400, target.status().message());
  req.path = std::move(target->path);
  req.query = std::move(target->query);
  hub::BodyPlan plan;
  if (auto early = h.hub->api().Admit(req, &plan)) return std::move(*early);
  if (req.body.size() > plan.limit) return hub::ErrorResponse(413, "too large");
  std::string file;
  if (plan.kind == hub::BodyPlan::Kind::kFile) {
    file = plan.file_path;
    std::ofstream(file, std::ios::binary)
        .write(req.body.data(), static_cast<std::streamsize>(req.body.size()));
    req.body_file = file;
    req.body_size = req.body.size();
    req.body.clear();
  }
  hub::HttpResponse res = h.hub->api().Handle(req);
  if (!file.empty()) std::filesystem::remove(file);
  return res;
}

hub::HttpRequest Make(const std::string& method, const std::string& target,
                      const std::string& token, const std::string& body) {
  hub::HttpRequest r;
  r.method = method;
  r.target = target;
  r.headers["authorization"] = "Bearer " + token;
  if (!body.empty()) r.headers["content-type"] = "application/json";
  r.body = body;
  return r;
}

FuzzHub* Setup() {
  auto* h = new FuzzHub();  // lives for the whole process
  std::string pattern = (std::filesystem::temp_directory_path() / "tern-fuzz-hub-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  h->dir = pattern;
  hub::HubOptions o;
  o.data_dir = h->dir;
  o.http.threads = 1;
  o.http.stop_on_signals = false;
  o.evaluate_interval_ms = 3600 * 1000;  // gates only move when a request moves them
  auto started = hub::Hub::Start(o);
  if (!started.ok()) {
    std::fprintf(stderr, "fuzz hub: %s\n", started.status().ToString().c_str());
    std::abort();
  }
  h->hub = std::move(*started);
  h->admin = Trim(fleet::ReadFile(h->dir + "/admin.key", 4096).value());
  h->enroll = hub::CreateApiKey(h->dir, "", "fuzz", "enroll").value();
  // A device, a blob, two versions and a rollout, so that handlers have something to find.
  auto reg = Call(*h, Make("POST", "/v1/devices/register", h->enroll,
                           R"({"name":"d1","capabilities":{"cpu_features":["avx2"]}})"));
  auto reg_json = fleet::ParseJson(reg.body);
  if (reg.status != 201 || !reg_json.ok()) std::abort();
  h->device = (*reg_json)["token"].get<std::string>();
  hub::HttpRequest up = Make("POST", "/v1/blobs", h->admin, "");
  up.headers["content-type"] = "application/octet-stream";
  up.body = "model bytes for the fuzzer";
  auto blob = Call(*h, up);
  auto blob_json = fleet::ParseJson(blob.body);
  if (blob.status != 201 || !blob_json.ok()) std::abort();
  const std::string sha = (*blob_json)["sha256"].get<std::string>();
  for (const char* v : {"1", "2"}) {
    fleet::Json body = {{"version", v},
                        {"variants", {{{"name", "fp32"}, {"precision", "fp32"}, {"sha256", sha}}}}};
    if (Call(*h, Make("POST", "/v1/models/m/versions", h->admin, body.dump())).status != 201)
      std::abort();
  }
  if (Call(*h, Make("POST", "/v1/rollouts", h->admin,
                    R"({"model":"m","version":"2","previous_version":"1"})"))
          .status != 201)
    std::abort();
  return h;
}

void Replace(std::string& s, std::string_view from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

void FuzzHubRequest(const uint8_t* data, size_t size) {
  static FuzzHub* h = Setup();
  std::string_view in(reinterpret_cast<const char*>(data), size);
  hub::HttpRequest req;
  size_t eol = in.find('\n');
  std::string_view line = in.substr(0, eol);
  in = eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return;
  req.method = std::string(line.substr(0, sp));
  req.target = std::string(line.substr(sp + 1));
  if (req.target.size() > 8192) return;  // Beast's header limit answers 431 before us
  while (!in.empty()) {
    eol = in.find('\n');
    std::string_view h_line = in.substr(0, eol);
    in = eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1);
    if (!h_line.empty() && h_line.back() == '\r') h_line.remove_suffix(1);
    if (h_line.empty()) break;
    const size_t colon = h_line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(h_line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value(h_line.substr(colon + 1));
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    Replace(value, "$ADMIN", h->admin);
    Replace(value, "$DEVICE", h->device);
    Replace(value, "$ENROLL", h->enroll);
    req.headers[name] = value;
  }
  req.body = std::string(in);
  hub::HttpResponse res = Call(*h, std::move(req));
  if (res.status >= 500 && res.status != 503) {
    std::fprintf(stderr, "fuzz hub: HTTP %d: %s\n", res.status, res.body.c_str());
    std::abort();
  }
}

}  // namespace tern::fuzz
