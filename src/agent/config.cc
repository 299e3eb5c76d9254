#include "agent/config.h"

#include <type_traits>

#include "fleet/canonical_json.h"
#include "fleet/file_util.h"

namespace tern::agent {
namespace {

using fleet::Json;

template <typename T>
Status Take(const Json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::Ok();
  bool ok;
  if constexpr (std::is_same_v<T, std::string>) {
    ok = it->is_string();
  } else if constexpr (std::is_same_v<T, bool>) {
    ok = it->is_boolean();
  } else if constexpr (std::is_same_v<T, double>) {
    ok = it->is_number();
  } else {
    ok = it->is_number_integer();
  }
  if (!ok) return InvalidArgument(std::string("config: \"") + key + "\" has the wrong type");
  *out = it->get<T>();
  return Status::Ok();
}

}  // namespace

Status AgentConfig::Validate() const {
  if (hub_url.rfind("http://", 0) != 0 && hub_url.rfind("https://", 0) != 0) {
    return InvalidArgument("config: hub_url must start with http:// or https://");
  }
  if (state_dir.empty()) return InvalidArgument("config: state_dir is required");
  if (model.empty()) return InvalidArgument("config: model is required");
  if (poll_interval_s < 1 || http_timeout_s < 1 || max_attempts < 1 || backoff_initial_ms < 1 ||
      backoff_max_ms < backoff_initial_ms || telemetry_interval_s < 1 ||
      telemetry_max_reports < 1 || max_trial_attempts < 1 || probe_latency_budget_ms < 1 ||
      long_poll_s < 0 || long_poll_s > 300) {
    return InvalidArgument("config: intervals, attempts and limits must be positive");
  }
  if (!(probe_atol >= 0) || !(probe_rtol >= 0)) {
    return InvalidArgument("config: probe tolerances must be non-negative");
  }
  return Status::Ok();
}

Status LoadConfigFile(const std::string& path, AgentConfig* c) {
  TERN_ASSIGN_OR_RETURN(std::string text, fleet::ReadFile(path, 1 << 20));
  TERN_ASSIGN_OR_RETURN(Json j, fleet::ParseJson(text));
  if (!j.is_object()) return InvalidArgument("config: " + path + " is not a JSON object");
  Status st;
  for (Status s : {Take(j, "hub_url", &c->hub_url),
                   Take(j, "ca_file", &c->ca_file),
                   Take(j, "state_dir", &c->state_dir),
                   Take(j, "root_file", &c->root_file),
                   Take(j, "enroll_key", &c->enroll_key),
                   Take(j, "enroll_key_file", &c->enroll_key_file),
                   Take(j, "device_name", &c->device_name),
                   Take(j, "model", &c->model),
                   Take(j, "version", &c->version),
                   Take(j, "socket_path", &c->socket_path),
                   Take(j, "providers", &c->providers),
                   Take(j, "poll_interval_s", &c->poll_interval_s),
                   Take(j, "long_poll_s", &c->long_poll_s),
                   Take(j, "delta_updates", &c->delta_updates),
                   Take(j, "http_timeout_s", &c->http_timeout_s),
                   Take(j, "max_attempts", &c->max_attempts),
                   Take(j, "backoff_initial_ms", &c->backoff_initial_ms),
                   Take(j, "backoff_max_ms", &c->backoff_max_ms),
                   Take(j, "probe_atol", &c->probe_atol),
                   Take(j, "probe_rtol", &c->probe_rtol),
                   Take(j, "probe_latency_budget_ms", &c->probe_latency_budget_ms),
                   Take(j, "max_trial_attempts", &c->max_trial_attempts),
                   Take(j, "telemetry_interval_s", &c->telemetry_interval_s),
                   Take(j, "telemetry_max_reports", &c->telemetry_max_reports)}) {
    if (!s.ok()) return s.WithContext(path);
  }
  if (j.contains("download_conditions")) {
    const Json& d = j["download_conditions"];
    if (!d.is_object()) return InvalidArgument("config: download_conditions must be an object");
    for (Status s : {Take(d, "require_unmetered", &c->conditions.require_unmetered),
                     Take(d, "require_charging", &c->conditions.require_charging),
                     Take(d, "conditions_file", &c->conditions.conditions_file)}) {
      if (!s.ok()) return s.WithContext(path);
    }
  }
  if (j.contains("federated")) {
    const Json& f = j["federated"];
    if (!f.is_object()) return InvalidArgument("config: federated must be an object");
    for (Status s : {Take(f, "data_dir", &c->fl.data_dir), Take(f, "state_file", &c->fl.state_file),
                     Take(f, "task", &c->fl.task),
                     Take(f, "max_checkin_interval_s", &c->fl.max_checkin_interval_s)}) {
      if (!s.ok()) return s.WithContext(path);
    }
  }
  return Status::Ok();
}

bool DownloadAllowed(const DownloadConditions& c, std::string* why) {
  if (!c.require_unmetered && !c.require_charging) return true;
  Json state;
  if (!c.conditions_file.empty()) {
    auto text = fleet::ReadFile(c.conditions_file, 64 << 10);
    if (text.ok()) {
      auto j = fleet::ParseJson(*text);
      if (j.ok() && j->is_object()) state = *j;
    }
  }
  auto flag = [&](const char* key) -> int {  // 1 true, 0 false, -1 unknown
    if (!state.is_object() || !state.contains(key) || !state[key].is_boolean()) return -1;
    return state[key].get<bool>() ? 1 : 0;
  };
  if (c.require_unmetered && flag("metered") != 0) {
    *why = flag("metered") < 0 ? "network cost unknown" : "network is metered";
    return false;
  }
  if (c.require_charging && flag("charging") != 1) {
    *why = flag("charging") < 0 ? "charging state unknown" : "not charging";
    return false;
  }
  return true;
}

}  // namespace tern::agent
