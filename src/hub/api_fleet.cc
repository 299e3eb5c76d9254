// HubApi's fleet endpoints: rollouts, device assignments (with long-poll), telemetry and
// /metrics. The routing and authentication are in api.cc.
#include <map>
#include <random>

#include "fleet/canonical_json.h"
#include "fleet/metadata.h"
#include "hub/api.h"
#include "hub/http_util.h"
#include "hub/telemetry.h"

namespace tern::hub {
namespace {

using fleet::Json;

HttpResponse NotFound(const std::string& what) { return ErrorResponse(404, what + " not found"); }
HttpResponse StoreError(const Status& st) { return ErrorResponse(500, "store: " + st.message()); }

HttpResponse FromStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument:
      return ErrorResponse(400, st.message());
    case StatusCode::kFailedPrecondition:
      return ErrorResponse(409, st.message());
    default:
      return ErrorResponse(500, st.message());
  }
}

Result<int64_t> WaitSeconds(const HttpRequest& r, int64_t max) {
  auto it = r.query.find("wait");
  if (it == r.query.end()) return int64_t{0};
  const std::string& v = it->second;
  if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos) {
    return InvalidArgument("\"wait\" must be a whole number of seconds");
  }
  return std::min<int64_t>(std::stoll(v), max);
}

// The client's current tag, from ?known= (quoted or not) or If-None-Match.
std::string KnownTag(const HttpRequest& r) {
  auto it = r.query.find("known");
  if (it != r.query.end() && !it->second.empty()) {
    return it->second.front() == '"' ? it->second : "\"" + it->second + "\"";
  }
  return r.Header("if-none-match");
}

}  // namespace

int64_t HubApi::JitteredPollInterval() const {
  // ±20% so a fleet that rebooted together does not poll together.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double base = static_cast<double>(std::max<int64_t>(options_.poll_interval_s, 1));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return std::max<int64_t>(1, static_cast<int64_t>(base * jitter(rng)));
}

std::optional<HttpResponse> HubApi::GetAssignment(const HttpRequest& r, const Principal& who,
                                                  Responder respond) {
  auto wait = WaitSeconds(r, options_.max_poll_wait_s);
  if (!wait.ok()) return ErrorResponse(400, wait.status().message());
  const std::string known = KnownTag(r);
  const std::string device_id = who.id;
  // Builds the answer; nullopt while the client's tag is current and it may still wait.
  auto answer = [this, device_id, known](bool final) -> std::optional<HttpResponse> {
    auto device = store_->FindDevice(device_id);
    if (!device.ok()) return StoreError(device.status());
    if (!*device) return NotFound("device");
    auto a = fleet_.rollouts->AssignmentFor(**device);
    if (!a.ok()) return StoreError(a.status());
    const int64_t poll_after = JitteredPollInterval();
    if (!known.empty() && IfNoneMatchMatches(known, a->etag)) {
      if (!final) return std::nullopt;
      HttpResponse res;
      res.status = 304;
      res.SetHeader("ETag", a->etag);
      res.SetHeader("Retry-After", std::to_string(poll_after));
      res.SetHeader("Cache-Control", "no-store");
      return res;
    }
    Json body = {{"etag", a->etag},
                 {"reason", a->reason},
                 {"rollout_id", a->rollout_id.empty() ? Json(nullptr) : Json(a->rollout_id)},
                 {"model", nullptr},
                 {"version", nullptr},
                 {"manifest", nullptr},
                 {"poll_after_s", poll_after}};
    if (a->version) {
      body["model"] = a->version->model;
      body["version"] = a->version->version;
      body["manifest_version"] = a->version->manifest_version;
      body["manifest"] = Json::parse(a->version->manifest_json, nullptr, false);
    }
    HttpResponse res = JsonResponse(200, body);
    res.SetHeader("ETag", a->etag);
    res.SetHeader("Retry-After", std::to_string(poll_after));
    res.SetHeader("Cache-Control", "no-store");
    return res;
  };
  auto now = answer(*wait == 0 || !respond || !fleet_.long_poll);
  if (now) return now;
  fleet_.long_poll->Add(LongPoll::Clock::now() + std::chrono::seconds(*wait),
                        [answer, respond = std::move(respond)](bool final) {
                          auto res = answer(final);
                          if (!res) return false;
                          respond(std::move(*res));
                          return true;
                        });
  return std::nullopt;
}

HttpResponse HubApi::PostTelemetry(const HttpRequest& r, const Principal& who) {
  auto parsed = fleet::ParseJson(r.body, 8);
  if (!parsed.ok()) return ErrorResponse(400, parsed.status().message());
  auto batch = ParseTelemetryBatch(*parsed, who.id, Now());
  if (!batch.ok()) return ErrorResponse(400, batch.status().message());
  auto stored = store_->InsertTelemetryBatch(*batch);
  if (!stored.ok()) return StoreError(stored.status());
  if (fleet_.metrics) fleet_.metrics->CountTelemetry(!*stored);
  // A resend of a batch already stored is answered like the first time, minus the 201.
  return JsonResponse(*stored ? 201 : 200,
                      {{"batch_id", batch->batch_id}, {"duplicate", !*stored}});
}

HttpResponse HubApi::PostRollout(const HttpRequest& r) {
  auto parsed = fleet::ParseJson(r.body, 8);
  if (!parsed.ok()) return ErrorResponse(400, parsed.status().message());
  auto created = fleet_.rollouts->Create(*parsed);
  if (!created.ok()) return FromStatus(created.status());
  auto described = fleet_.rollouts->Describe(created->id);
  if (!described.ok()) return StoreError(described.status());
  if (!*described) return NotFound("rollout");
  HttpResponse res = JsonResponse(201, **described);
  res.SetHeader("Location", "/v1/rollouts/" + created->id);
  return res;
}

HttpResponse HubApi::ListRollouts(const HttpRequest&) {
  auto list = fleet_.rollouts->List();
  if (!list.ok()) return StoreError(list.status());
  return JsonResponse(200, {{"rollouts", *list}});
}

HttpResponse HubApi::GetRollout(const HttpRequest& r) {
  auto described = fleet_.rollouts->Describe(r.path[2]);
  if (!described.ok()) return StoreError(described.status());
  if (!*described) return NotFound("rollout");
  HttpResponse res = JsonResponse(200, **described);
  res.SetHeader("Cache-Control", "no-store");
  return res;
}

HttpResponse HubApi::RolloutCommand(const HttpRequest& r) {
  auto command = ParseRolloutCommand(r.path[3]);
  if (!command.ok()) return ErrorResponse(404, "no such endpoint");
  auto done = fleet_.rollouts->Command(r.path[2], *command);
  if (!done.ok()) return FromStatus(done.status());
  if (!*done) return NotFound("rollout");
  auto described = fleet_.rollouts->Describe(r.path[2]);
  if (!described.ok()) return StoreError(described.status());
  if (!*described) return NotFound("rollout");
  return JsonResponse(200, **described);
}

HttpResponse HubApi::Metrics(const HttpRequest&) {
  std::string out = fleet_.metrics ? fleet_.metrics->Render() : std::string();
  auto devices = store_->ListDevices();
  if (!devices.ok()) return StoreError(devices.status());
  std::map<std::string, int64_t> by_group;
  std::map<std::pair<std::string, std::string>, int64_t> by_version;
  for (const auto& d : *devices) {
    ++by_group[d.group];
    if (!d.active_model.empty()) ++by_version[{d.active_model, d.active_version}];
  }
  out += "# HELP tern_fleet_devices Registered devices by group.\n";
  out += "# TYPE tern_fleet_devices gauge\n";
  for (const auto& [g, n] : by_group) {
    out += "tern_fleet_devices{group=\"" + PromLabel(g) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP tern_fleet_devices_active Devices by the model version they last reported "
      "running.\n";
  out += "# TYPE tern_fleet_devices_active gauge\n";
  for (const auto& [mv, n] : by_version) {
    out += "tern_fleet_devices_active{model=\"" + PromLabel(mv.first) + "\",version=\"" +
           PromLabel(mv.second) + "\"} " + std::to_string(n) + "\n";
  }
  auto rollouts = store_->ListRollouts();
  if (!rollouts.ok()) return StoreError(rollouts.status());
  std::string state_lines, stage_lines, gate_lines;
  for (const auto& ro : *rollouts) {
    const std::string labels = "rollout=\"" + PromLabel(ro.id) + "\",model=\"" +
                               PromLabel(ro.model) + "\",version=\"" + PromLabel(ro.version) +
                               "\",group=\"" + PromLabel(ro.group) + "\"";
    state_lines += "tern_rollout_state{" + labels + ",state=\"" + PromLabel(ro.state) + "\"} 1\n";
    stage_lines += "tern_rollout_stage{" + labels + "} " + std::to_string(ro.stage + 1) + "\n";
    // Gates of rollouts still in play only, so finished rollouts do not pile up series.
    if (ro.state == "completed" || ro.state == "aborted") continue;
    Json ev = Json::parse(ro.evaluation_json, nullptr, false);
    if (!ev.is_object() || !ev.contains("gates") || !ev["gates"].is_array()) continue;
    for (const auto& g : ev["gates"]) {
      const std::string state = g.value("state", "");
      const int value = state == "pass" ? 1 : state == "fail" ? -1 : 0;
      gate_lines += "tern_rollout_gate{rollout=\"" + PromLabel(ro.id) + "\",gate=\"" +
                    PromLabel(g.value("gate", "")) + "\"} " + std::to_string(value) + "\n";
    }
  }
  out += "# HELP tern_rollout_state Each rollout's state (1 on the current one).\n";
  out += "# TYPE tern_rollout_state gauge\n" + state_lines;
  out += "# HELP tern_rollout_stage Each rollout's current stage, from 1.\n";
  out += "# TYPE tern_rollout_stage gauge\n" + stage_lines;
  out +=
      "# HELP tern_rollout_gate Gate state at the last evaluation: 1 pass, 0 pending, -1 "
      "fail.\n";
  out += "# TYPE tern_rollout_gate gauge\n" + gate_lines;
  HttpResponse res;
  res.body = std::move(out);
  res.SetHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  res.SetHeader("Cache-Control", "no-store");
  return res;
}

}  // namespace tern::hub
