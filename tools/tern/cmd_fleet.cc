// tern keys | publish | rollout | devices: the fleet operator's commands.
//
// Keys are files (fleet/key_dir.h): `keys init` and `keys rotate` work on the offline folder that
// holds the root key; `keys export` copies what a hub needs (root chain + targets key) into the
// folder given to `tern-hub serve --keys`, which the hub re-reads while it runs.
// Everything else talks to the hub's admin API (docs/api.md) through the agent's HTTP client
// (retries, TLS with --ca-file), authenticated by --api-key or $TERN_API_KEY.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <sstream>

#include "agent/health.h"
#include "agent/hub_client.h"
#include "commands.h"
#include "fleet/crypto.h"
#include "fleet/file_util.h"
#include "fleet/key_dir.h"

namespace tern::cli {
namespace {

using fleet::Json;

int Fail(const std::string& what) {
  std::fprintf(stderr, "tern: %s\n", what.c_str());
  return 1;
}

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

// An admin client for the hub named in `o`.
class Admin {
 public:
  explicit Admin(const HubOptions& o) {
    config_.hub_url = o.hub;
    while (!config_.hub_url.empty() && config_.hub_url.back() == '/') config_.hub_url.pop_back();
    config_.ca_file = o.ca_file;
    config_.max_attempts = 3;
    config_.backoff_initial_ms = 200;
    config_.backoff_max_ms = 2000;
    client_ = std::make_unique<agent::HubClient>(config_, nullptr);
    std::string key = o.api_key;
    if (key.empty()) {
      const char* env = std::getenv("TERN_API_KEY");
      if (env) key = env;
    }
    client_->set_token(key);
  }
  bool ready(std::string* why) const {
    if (config_.hub_url.empty()) *why = "--hub URL is required";
    return !config_.hub_url.empty();
  }

  /// A call that must answer 2xx with JSON; the hub's {"error"} otherwise.
  Result<Json> Call(const std::string& method, const std::string& path, const Json& body = Json()) {
    TERN_ASSIGN_OR_RETURN(agent::HttpReply r,
                          client_->Call(method, path, body.is_null() ? "" : body.dump()));
    return Check(method + " " + path, r);
  }
  Result<Json> Upload(const std::string& file) {
    TERN_ASSIGN_OR_RETURN(fleet::Sha256Digest sha, fleet::Sha256File(file));
    TERN_ASSIGN_OR_RETURN(agent::HttpReply r,
                          client_->Upload("/v1/blobs", file, fleet::HexEncode(sha)));
    return Check("upload " + file, r);
  }

 private:
  static Result<Json> Check(const std::string& what, const agent::HttpReply& r) {
    Json j = Json::parse(r.body, nullptr, false);
    if (r.status < 200 || r.status >= 300) {
      std::string msg = j.is_object() && j.contains("error") && j["error"].is_string()
                            ? j["error"].get<std::string>()
                            : r.body.substr(0, 200);
      return Status(StatusCode::kFailedPrecondition,
                    what + ": HTTP " + std::to_string(r.status) + ": " + msg);
    }
    if (j.is_discarded()) return InvalidArgument(what + ": the hub answered no JSON");
    return j;
  }

  agent::AgentConfig config_;
  std::unique_ptr<agent::HubClient> client_;
};

// A plain text table: columns padded to their widest cell.
void PrintTable(const std::vector<std::string>& head,
                const std::vector<std::vector<std::string>>& rows, const std::string& indent = "") {
  std::vector<size_t> width(head.size());
  for (size_t c = 0; c < head.size(); ++c) width[c] = head[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = indent;
    for (size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c + 1 < cells.size()) out += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  line(head);
  for (const auto& row : rows) line(row);
}

std::string Str(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return "";
  const Json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

void PrintJson(const Json& j) { std::printf("%s\n", j.dump(2).c_str()); }

// "precision=int8,provider=cpu,features=avx2+fma,name=int8-avx2,file=m.int8.onnx"
Result<std::map<std::string, std::string>> ParseSpec(const std::string& spec) {
  std::map<std::string, std::string> out;
  std::stringstream in(spec);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgument("--variant expects KEY=VALUE,...; got \"" + item + "\"");
    }
    std::string key = item.substr(0, eq);
    if (key != "precision" && key != "provider" && key != "features" && key != "name" &&
        key != "file") {
      return InvalidArgument("--variant: unknown key " + key +
                             " (precision, provider, features, name, file)");
    }
    out[key] = item.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> SplitFeatures(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == '+' || c == ':' || c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace

int RunKeys(const KeysOptions& o) {
  const int64_t ttl = static_cast<int64_t>(o.ttl_days) * 86400;
  if (o.action == "init") {
    Status st = fleet::InitKeyDir(o.dir, Now(), ttl);
    if (!st.ok()) return Fail(st.ToString());
    auto loaded = fleet::LoadKeyDir(o.dir);
    if (!loaded.ok()) return Fail(loaded.status().ToString());
    std::printf("root v1 in %s/metadata/1.root.json\n", o.dir.c_str());
    std::printf("root key    %s (keep this folder offline)\n",
                loaded->root.root.keyids.front().c_str());
    std::printf("targets key %s\n", loaded->targets_key.KeyId().c_str());
    std::printf("next: tern keys export --dir %s --out HUB_KEYS; tern-hub serve --keys HUB_KEYS\n",
                o.dir.c_str());
    return 0;
  }
  if (o.action == "rotate") {
    auto r = fleet::RotateKeyDir(o.dir, o.root, Now(), ttl);
    if (!r.ok()) return Fail(r.status().ToString());
    std::printf("root v%lld: new %s key %s\n", static_cast<long long>(r->version),
                o.root ? "root" : "targets", r->new_keyid.c_str());
    std::printf("next: tern keys export --dir %s --out HUB_KEYS (the hub picks it up)\n",
                o.dir.c_str());
    return 0;
  }
  if (o.action == "export") {
    Status st = fleet::ExportKeyDir(o.dir, o.out);
    if (!st.ok()) return Fail(st.ToString());
    std::printf("root chain and targets key exported to %s\n", o.out.c_str());
    return 0;
  }
  return 2;
}

int RunPublish(const PublishOptions& o) {
  Admin hub(o.hub);
  std::string why;
  if (!hub.ready(&why)) return Fail(why);
  std::vector<std::string> specs = o.variants;
  if (specs.empty()) specs.push_back("");

  // The probe: packed once, checked against every variant locally before anything is uploaded,
  // so a model that fails its own probe never reaches the hub.
  std::string probe_file;
  if (!o.probe_dir.empty()) {
    auto archive = agent::MakeProbeArchive(o.probe_dir);
    if (!archive.ok()) return Fail(archive.status().ToString());
    probe_file =
        fleet::DirName(o.model) + "/.tern-probe-" + fleet::RandomToken("").substr(0, 12) + ".tar";
    Status st = fleet::WriteFileAtomic(probe_file, *archive);
    if (!st.ok()) return Fail(st.ToString());
  }
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      if (!path.empty()) std::remove(path.c_str());
    }
  } cleanup{probe_file};

  Json variants = Json::array();
  for (const auto& spec : specs) {
    auto kv = ParseSpec(spec);
    if (!kv.ok()) return Fail(kv.status().ToString());
    auto get = [&](const char* key, const std::string& fallback) {
      auto it = kv->find(key);
      return it == kv->end() || it->second.empty() ? fallback : it->second;
    };
    const std::string file = get("file", o.model);
    const std::string precision = get("precision", "fp32");
    const std::string provider = get("provider", "ref");
    const std::vector<std::string> features = SplitFeatures(get("features", ""));
    std::string name = precision + "-" + provider;
    for (const auto& f : features) name += "-" + f;
    name = get("name", name);
    if (!probe_file.empty()) {
      agent::HealthOptions health;
      health.providers = {"ref"};
      health.latency_budget_ms = 600000;
      agent::HealthReport report;
      auto checked = agent::CheckHealth(file, probe_file, health, &report);
      if (!checked.ok()) {
        return Fail("variant " + name + " fails its probe: " + checked.status().ToString());
      }
    }
    auto blob = hub.Upload(file);
    if (!blob.ok()) return Fail(blob.status().ToString());
    Json v = {{"name", name},
              {"precision", precision},
              {"provider", provider},
              {"cpu_features", features},
              {"sha256", Str(*blob, "sha256")}};
    variants.push_back(std::move(v));
  }
  if (!probe_file.empty()) {
    auto probe = hub.Upload(probe_file);
    if (!probe.ok()) return Fail(probe.status().ToString());
    for (auto& v : variants) v["probe_sha256"] = Str(*probe, "sha256");
  }
  Json body = {{"version", o.version}, {"variants", variants}};
  auto made = hub.Call("POST", "/v1/models/" + o.name + "/versions", body);
  if (!made.ok()) return Fail(made.status().ToString());
  if (o.hub.json) {
    PrintJson(*made);
    return 0;
  }
  std::printf("published %s %s (manifest v%s)\n", o.name.c_str(), o.version.c_str(),
              Str(*made, "manifest_version").c_str());
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : (*made)["variants"]) {
    std::string feats;
    for (const auto& f : v["cpu_features"])
      feats += (feats.empty() ? "" : "+") + f.get<std::string>();
    rows.push_back({Str(v, "name"), Str(v, "precision"), Str(v, "provider"),
                    feats.empty() ? "-" : feats, Str(v, "size"), Str(v, "sha256").substr(0, 16)});
  }
  PrintTable({"VARIANT", "PRECISION", "PROVIDER", "CPU", "BYTES", "SHA256"}, rows, "  ");
  return 0;
}

namespace {

void PrintRollout(const Json& r) {
  std::printf("rollout %s: %s %s (from %s), group %s\n", Str(r, "id").c_str(),
              Str(r, "model").c_str(), Str(r, "version").c_str(),
              Str(r, "previous_version").empty() ? "nothing" : Str(r, "previous_version").c_str(),
              Str(r, "group").c_str());
  const size_t stages = r.contains("stages") && r["stages"].is_array() ? r["stages"].size() : 0;
  std::printf("state %s, stage %s of %zu at %s%%\n", Str(r, "state").c_str(),
              Str(r, "stage").c_str(), stages, Str(r, "percent").c_str());
  if (!Str(r, "reason").empty()) std::printf("reason: %s\n", Str(r, "reason").c_str());
  if (r.contains("devices") && r["devices"].is_object()) {
    const Json& d = r["devices"];
    PrintTable({"GROUP", "COHORT", "ASSIGNED", "UPDATED", "REPORTING", "FAILED", "ROLLED_BACK"},
               {{Str(d, "group"), Str(d, "cohort"), Str(d, "assigned"), Str(d, "updated"),
                 Str(d, "reporting"), Str(d, "failed"), Str(d, "rolled_back")}},
               "  ");
  }
  if (r.contains("evaluation") && r["evaluation"].is_object()) {
    const Json& e = r["evaluation"];
    std::printf("gates (%s):\n", Str(e, "verdict").c_str());
    std::vector<std::vector<std::string>> rows;
    if (e.contains("gates") && e["gates"].is_array()) {
      for (const auto& g : e["gates"])
        rows.push_back({Str(g, "gate"), Str(g, "state"), Str(g, "reason")});
    }
    PrintTable({"GATE", "STATE", "REASON"}, rows, "  ");
  }
  if (r.contains("history") && r["history"].is_array()) {
    std::printf("history:\n");
    std::vector<std::vector<std::string>> rows;
    for (const auto& h : r["history"]) {
      rows.push_back({Str(h, "at"), Str(h, "from").empty() ? "-" : Str(h, "from"), Str(h, "to"),
                      Str(h, "stage"), Str(h, "reason")});
    }
    PrintTable({"AT", "FROM", "TO", "STAGE", "REASON"}, rows, "  ");
  }
}

}  // namespace

int RunRollout(const RolloutCliOptions& o) {
  Admin hub(o.hub);
  std::string why;
  if (!hub.ready(&why)) return Fail(why);
  Result<Json> r = Json();
  if (o.action == "create") {
    Json body = {{"model", o.model}, {"version", o.version}, {"group", o.group}};
    if (!o.previous_version.empty()) body["previous_version"] = o.previous_version;
    if (!o.stages.empty()) {
      Json stages = Json::array();
      for (double p : o.stages) stages.push_back({{"percent", p}});
      body["stages"] = stages;
    }
    Json gates = Json::object();
    if (o.min_devices >= 0) gates["min_devices"] = o.min_devices;
    if (o.max_error_rate >= 0) gates["max_error_rate"] = o.max_error_rate;
    if (o.max_crash_rate >= 0) gates["max_crash_rate"] = o.max_crash_rate;
    if (o.max_p95_regression_set) gates["max_p95_regression"] = o.max_p95_regression;
    if (o.min_soak_s >= 0) gates["min_soak_s"] = o.min_soak_s;
    if (!gates.empty()) body["gates"] = gates;
    r = hub.Call("POST", "/v1/rollouts", body);
  } else if (o.action == "status" && o.id.empty()) {
    r = hub.Call("GET", "/v1/rollouts");
    if (r.ok() && !o.hub.json) {
      std::vector<std::vector<std::string>> rows;
      if (r->contains("rollouts") && (*r)["rollouts"].is_array()) {
        for (const auto& x : (*r)["rollouts"]) {
          rows.push_back({Str(x, "id"), Str(x, "model"), Str(x, "version"),
                          Str(x, "previous_version").empty() ? "-" : Str(x, "previous_version"),
                          Str(x, "group"), Str(x, "state"), Str(x, "stage"), Str(x, "created_at")});
        }
      }
      PrintTable({"ID", "MODEL", "VERSION", "FROM", "GROUP", "STATE", "STAGE", "CREATED"}, rows);
      return 0;
    }
  } else if (o.action == "status") {
    r = hub.Call("GET", "/v1/rollouts/" + o.id);
  } else {
    if (o.id.empty()) return Fail("rollout " + o.action + " needs a rollout id");
    r = hub.Call("POST", "/v1/rollouts/" + o.id + "/" + o.action);
  }
  if (!r.ok()) return Fail(r.status().ToString());
  if (o.hub.json) {
    PrintJson(*r);
  } else {
    PrintRollout(*r);
  }
  return 0;
}

int RunDevices(const DevicesOptions& o) {
  Admin hub(o.hub);
  std::string why;
  if (!hub.ready(&why)) return Fail(why);
  if (o.action == "show") {
    auto d = hub.Call("GET", "/v1/devices/" + o.id);
    if (!d.ok()) return Fail(d.status().ToString());
    if (o.hub.json) {
      PrintJson(*d);
      return 0;
    }
    const Json& active = (*d)["active"];
    const Json& caps = (*d)["capabilities"];
    std::printf("device %s (%s), group %s\n", Str(*d, "id").c_str(), Str(*d, "name").c_str(),
                Str(*d, "group").c_str());
    if (active.is_object()) {
      std::printf("active: %s %s (reported %s)\n", Str(active, "model").c_str(),
                  Str(active, "version").c_str(), Str(active, "reported_at").c_str());
    } else {
      std::printf("active: nothing reported yet\n");
    }
    std::printf("registered %s, last seen %s\n", Str(*d, "created_at").c_str(),
                Str(*d, "last_seen").c_str());
    std::printf("capabilities: %s\n", caps.dump().c_str());
    return 0;
  }
  auto list = hub.Call("GET", "/v1/devices");
  if (!list.ok()) return Fail(list.status().ToString());
  Json devices = Json::array();
  if (list->contains("devices") && (*list)["devices"].is_array()) {
    for (const auto& d : (*list)["devices"]) {
      if (o.group.empty() || Str(d, "group") == o.group) devices.push_back(d);
    }
  }
  if (o.hub.json) {
    PrintJson({{"devices", devices}});
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : devices) {
    const Json& a = d["active"];
    rows.push_back({Str(d, "id"), Str(d, "name"), Str(d, "group"),
                    a.is_object() ? Str(a, "model") + " " + Str(a, "version") : "-",
                    Str(d, "last_seen")});
  }
  PrintTable({"ID", "NAME", "GROUP", "ACTIVE", "LAST_SEEN"}, rows);
  return 0;
}

}  // namespace tern::cli
