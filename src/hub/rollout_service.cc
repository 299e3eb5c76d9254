#include "hub/rollout_service.h"

#include <cstdio>
#include <map>
#include <regex>
#include <set>

#include "fleet/crypto.h"
#include "fleet/metadata.h"
#include "hub/telemetry.h"

namespace tern::hub {
namespace {

using Json = nlohmann::json;

// The previous version's p95 is read over this much time before the stage began, too, so a
// baseline exists even when the rest of the group reports rarely.
constexpr int64_t kBaselineLookbackS = 3600;

bool ValidName(const std::string& s) {
  static const std::regex re("[A-Za-z0-9][A-Za-z0-9._+-]{0,127}");
  return std::regex_match(s, re);
}

Status Conflict(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }

Result<StageGates> GatesFromJson(const Json& body) {
  StageGates defaults;
  if (!body.contains("gates")) return defaults;
  if (!body["gates"].is_object()) return InvalidArgument("\"gates\" must be an object");
  // One stage at 100% parses the gate fields with the same checks as per-stage overrides.
  Json probe = Json::array({body["gates"]});
  probe[0]["percent"] = 100;
  TERN_ASSIGN_OR_RETURN(RolloutSpec spec, RolloutSpec::FromJson(probe, defaults));
  return spec.stages[0].gates;
}

std::string EtagOf(const ModelVersionRecord& v) {
  std::string key = v.model + "\n" + v.version + "\n" + std::to_string(v.manifest_version);
  return "\"a-" + fleet::HexEncode(fleet::Sha256(key)).substr(0, 24) + "\"";
}

std::string NewRolloutId(int64_t now, size_t sequence) {
  // Time first, then a sequence: ids sort in creation order (the newest rollout of a group
  // decides its assignments), with random bits so two replicas do not collide.
  char buf[48];
  std::snprintf(buf, sizeof buf, "ro_%010llx%04zx", static_cast<unsigned long long>(now),
                sequence & 0xffff);
  return buf + fleet::RandomToken("").substr(0, 6);
}

}  // namespace

struct RolloutService::Observed {
  StageObservation stage;
  int64_t group_devices = 0;
  int64_t assigned = 0;     ///< devices assigned the new version now
  int64_t updated = 0;      ///< devices running it (as they last reported)
  int64_t failed = 0;       ///< devices that reported a failure of it since the rollout began
  int64_t rolled_back = 0;  ///< devices that ran it and are back on the previous version
};

Result<RolloutSpec> StoredSpec(const RolloutRecord& r) {
  auto parsed = Json::parse(r.spec_json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Internal("rollout " + r.id + ": stored spec is not JSON");
  return RolloutSpec::FromJson(parsed, StageGates{});
}

Result<RolloutPosition> PositionOf(const RolloutRecord& r) {
  TERN_ASSIGN_OR_RETURN(RolloutState state, ParseRolloutState(r.state));
  return RolloutPosition{state, r.stage, r.stage_started_at};
}

RolloutService::RolloutService(Store* store, std::function<int64_t()> clock,
                               std::function<void()> on_change)
    : store_(store), clock_(std::move(clock)), on_change_(std::move(on_change)) {}

Result<RolloutRecord> RolloutService::Create(const Json& body) {
  if (!body.is_object()) return InvalidArgument("expected a JSON object");
  auto name = [&](const char* key, bool required, std::string fallback) -> Result<std::string> {
    if (!body.contains(key)) {
      if (required) return InvalidArgument(std::string("\"") + key + "\" is required");
      return fallback;
    }
    if (!body[key].is_string() || !ValidName(body[key].get<std::string>())) {
      return InvalidArgument(std::string("\"") + key + "\" is not a valid name");
    }
    return body[key].get<std::string>();
  };
  RolloutRecord r;
  TERN_ASSIGN_OR_RETURN(r.model, name("model", true, ""));
  TERN_ASSIGN_OR_RETURN(r.version, name("version", true, ""));
  TERN_ASSIGN_OR_RETURN(r.group, name("group", false, "default"));
  TERN_ASSIGN_OR_RETURN(StageGates defaults, GatesFromJson(body));
  Json stages =
      body.contains("stages")
          ? body["stages"]
          : Json::array(
                {{{"percent", 1}}, {{"percent", 10}}, {{"percent", 50}}, {{"percent", 100}}});
  TERN_ASSIGN_OR_RETURN(RolloutSpec spec, RolloutSpec::FromJson(stages, defaults));

  TERN_ASSIGN_OR_RETURN(auto target, store_->FindVersion(r.model, r.version));
  if (!target) return InvalidArgument("model " + r.model + " has no version " + r.version);
  if (body.contains("previous_version")) {
    TERN_ASSIGN_OR_RETURN(r.previous_version, name("previous_version", true, ""));
  } else {
    // What the group runs now: the version its last rollout of this model left it on.
    TERN_ASSIGN_OR_RETURN(auto last, store_->LatestRolloutForGroup(r.group));
    if (last && last->model == r.model) {
      r.previous_version = last->state == "completed" ? last->version : last->previous_version;
    }
  }
  if (!r.previous_version.empty()) {
    TERN_ASSIGN_OR_RETURN(auto prev, store_->FindVersion(r.model, r.previous_version));
    if (!prev) return InvalidArgument("model " + r.model + " has no version " + r.previous_version);
  }
  if (r.previous_version == r.version) {
    return InvalidArgument("the group runs " + r.version + " already");
  }

  const int64_t now = Now();
  TERN_ASSIGN_OR_RETURN(auto all, store_->ListRollouts());
  r.id = NewRolloutId(now, all.size());
  r.spec_json = spec.ToJson().dump();
  r.state = RolloutStateName(RolloutState::kRunning);
  r.stage = 0;
  r.stage_started_at = now;
  r.reason = "created";
  r.evaluation_json = "{}";
  r.created_at = r.updated_at = now;
  TERN_ASSIGN_OR_RETURN(bool inserted, store_->InsertRollout(r, {now, "", r.state, 0, "created"}));
  if (!inserted) {
    return Conflict("group " + r.group +
                    " has a running or paused rollout; finish, halt or "
                    "abort it first");
  }
  if (on_change_) on_change_();
  return r;
}

Result<RolloutService::Observed> RolloutService::Observe(const RolloutRecord& r,
                                                         const RolloutSpec& spec) {
  Observed o;
  TERN_ASSIGN_OR_RETURN(RolloutPosition at, PositionOf(r));
  TERN_ASSIGN_OR_RETURN(auto devices, store_->ListDevicesInGroup(r.group));
  const size_t stage_index =
      std::min(static_cast<size_t>(std::max<int64_t>(r.stage, 0)), spec.stages.size() - 1);
  const RolloutStage& stage = spec.stages[stage_index];
  std::set<std::string> cohort;
  std::map<std::string, const DeviceRecord*> by_id;
  for (const auto& d : devices) {
    by_id[d.id] = &d;
    const uint32_t point = CohortPoint(r.id, d.id);
    if (InCohort(point, stage)) cohort.insert(d.id);
    if (ChooseVersion(at, spec, r.version, r.previous_version, point).version == r.version) {
      ++o.assigned;
    }
    if (d.active_model == r.model && d.active_version == r.version) ++o.updated;
  }
  o.group_devices = static_cast<int64_t>(devices.size());
  o.stage.cohort_devices = static_cast<int64_t>(cohort.size());

  TERN_ASSIGN_OR_RETURN(auto fresh,
                        store_->TelemetryByDevice(r.model, r.version, r.stage_started_at));
  std::vector<uint64_t> buckets(kLatencyBuckets, 0);
  for (const auto& t : fresh) {
    if (!cohort.count(t.device_id)) continue;
    ++o.stage.reporting_devices;
    if (t.crashes > 0 || t.failures > 0) ++o.stage.failing_devices;
    o.stage.inferences += t.inferences;
    o.stage.errors += t.errors;
    for (size_t i = 0; i < t.latency_buckets.size() && i < buckets.size(); ++i) {
      buckets[i] += t.latency_buckets[i];
    }
  }
  o.stage.p95_ms = HistogramQuantile(buckets, 0.95);

  if (!r.previous_version.empty()) {
    TERN_ASSIGN_OR_RETURN(auto base,
                          store_->TelemetryByDevice(r.model, r.previous_version,
                                                    r.stage_started_at - kBaselineLookbackS));
    std::vector<uint64_t> base_buckets(kLatencyBuckets, 0);
    for (const auto& t : base) {
      if (!by_id.count(t.device_id)) continue;
      for (size_t i = 0; i < t.latency_buckets.size() && i < base_buckets.size(); ++i) {
        base_buckets[i] += t.latency_buckets[i];
      }
    }
    o.stage.baseline_p95_ms = HistogramQuantile(base_buckets, 0.95);
  }

  TERN_ASSIGN_OR_RETURN(auto ever, store_->TelemetryByDevice(r.model, r.version, r.created_at));
  for (const auto& t : ever) {
    auto it = by_id.find(t.device_id);
    if (it == by_id.end()) continue;
    if (t.crashes > 0 || t.failures > 0) ++o.failed;
    const DeviceRecord& d = *it->second;
    if (!r.previous_version.empty() && d.active_model == r.model &&
        d.active_version == r.previous_version) {
      ++o.rolled_back;
    }
  }
  return o;
}

Result<bool> RolloutService::Save(RolloutRecord r, const Transition& t,
                                  const std::string& evaluation_json) {
  const std::string from = r.state;
  r.state = RolloutStateName(t.next.state);
  r.stage = t.next.stage;
  r.stage_started_at = t.next.stage_started_at;
  r.evaluation_json = evaluation_json;
  r.updated_at = Now();
  std::optional<RolloutEventRecord> event;
  if (t.changed) {
    r.reason = t.reason;
    event = RolloutEventRecord{r.updated_at, from, r.state, r.stage, t.reason};
  }
  TERN_ASSIGN_OR_RETURN(bool saved, store_->UpdateRollout(r, event));
  if (saved && t.changed && on_change_) on_change_();
  return saved;
}

Result<int> RolloutService::Tick() {
  TERN_ASSIGN_OR_RETURN(auto rollouts, store_->ListRollouts());
  int changed = 0;
  for (const auto& r : rollouts) {
    if (r.state != RolloutStateName(RolloutState::kRunning)) continue;
    TERN_ASSIGN_OR_RETURN(RolloutSpec spec, StoredSpec(r));
    TERN_ASSIGN_OR_RETURN(RolloutPosition at, PositionOf(r));
    TERN_ASSIGN_OR_RETURN(Observed seen, Observe(r, spec));
    const int64_t now = Now();
    const size_t i = std::min(static_cast<size_t>(r.stage), spec.stages.size() - 1);
    StageEvaluation ev = EvaluateStage(spec.stages[i], seen.stage, now - r.stage_started_at);
    Transition t = Step(at, spec, ev, now);
    const std::string ev_json = ev.ToJson().dump();
    if (!t.changed && ev_json == r.evaluation_json) continue;
    // A lost compare-and-set means another writer moved the rollout; the next tick re-reads it.
    TERN_ASSIGN_OR_RETURN(bool saved, Save(r, t, ev_json));
    if (saved && t.changed) ++changed;
  }
  return changed;
}

Result<std::optional<RolloutRecord>> RolloutService::Command(const std::string& id,
                                                             RolloutCommand command) {
  // Retried on a lost compare-and-set (the evaluator may have written in between).
  for (int attempt = 0; attempt < 5; ++attempt) {
    TERN_ASSIGN_OR_RETURN(auto r, store_->FindRollout(id));
    if (!r) return std::optional<RolloutRecord>();
    TERN_ASSIGN_OR_RETURN(RolloutPosition at, PositionOf(*r));
    TERN_ASSIGN_OR_RETURN(Transition t, Apply(at, command, Now()));
    TERN_ASSIGN_OR_RETURN(bool saved, Save(*r, t, r->evaluation_json));
    if (saved) return store_->FindRollout(id);
  }
  return Conflict("rollout " + id + " keeps changing; try again");
}

Result<std::optional<Json>> RolloutService::Describe(const std::string& id) {
  TERN_ASSIGN_OR_RETURN(auto r, store_->FindRollout(id));
  if (!r) return std::optional<Json>();
  TERN_ASSIGN_OR_RETURN(RolloutSpec spec, StoredSpec(*r));
  TERN_ASSIGN_OR_RETURN(Observed seen, Observe(*r, spec));
  const size_t i = std::min(static_cast<size_t>(r->stage), spec.stages.size() - 1);
  Json evaluation = Json::parse(r->evaluation_json, nullptr, false);
  if (r->state == "running" || r->state == "paused") {
    // Live: what the gates say now (the stored one is from the evaluator's last tick).
    evaluation = EvaluateStage(spec.stages[i], seen.stage, Now() - r->stage_started_at).ToJson();
  }
  TERN_ASSIGN_OR_RETURN(auto events, store_->ListRolloutEvents(id));
  Json history = Json::array();
  for (const auto& e : events) {
    history.push_back({{"at", fleet::FormatTime(e.at)},
                       {"from", e.from_state},
                       {"to", e.to_state},
                       {"stage", e.stage + 1},
                       {"reason", e.reason}});
  }
  Json out = {{"id", r->id},
              {"model", r->model},
              {"version", r->version},
              {"previous_version", r->previous_version},
              {"group", r->group},
              {"state", r->state},
              {"stage", r->stage + 1},
              {"stages", spec.ToJson()},
              {"percent", static_cast<double>(spec.stages[i].basis_points) / 100.0},
              {"stage_started_at", fleet::FormatTime(r->stage_started_at)},
              {"reason", r->reason},
              {"created_at", fleet::FormatTime(r->created_at)},
              {"updated_at", fleet::FormatTime(r->updated_at)},
              {"devices",
               {{"group", seen.group_devices},
                {"cohort", seen.stage.cohort_devices},
                {"assigned", seen.assigned},
                {"updated", seen.updated},
                {"reporting", seen.stage.reporting_devices},
                {"failed", seen.failed},
                {"rolled_back", seen.rolled_back}}},
              {"evaluation", evaluation},
              {"history", history}};
  return std::optional<Json>(std::move(out));
}

Result<Json> RolloutService::List() {
  TERN_ASSIGN_OR_RETURN(auto rollouts, store_->ListRollouts());
  Json out = Json::array();
  for (const auto& r : rollouts) {
    out.push_back({{"id", r.id},
                   {"model", r.model},
                   {"version", r.version},
                   {"previous_version", r.previous_version},
                   {"group", r.group},
                   {"state", r.state},
                   {"stage", r.stage + 1},
                   {"reason", r.reason},
                   {"created_at", fleet::FormatTime(r.created_at)}});
  }
  return out;
}

Result<Assignment> RolloutService::AssignmentFor(const DeviceRecord& device) {
  Assignment a;
  a.reason = "none";
  a.etag = "\"a-none\"";
  TERN_ASSIGN_OR_RETURN(auto r, store_->LatestRolloutForGroup(device.group));
  if (!r) return a;
  TERN_ASSIGN_OR_RETURN(RolloutSpec spec, StoredSpec(*r));
  TERN_ASSIGN_OR_RETURN(RolloutPosition at, PositionOf(*r));
  VersionChoice choice =
      ChooseVersion(at, spec, r->version, r->previous_version, CohortPoint(r->id, device.id));
  a.rollout_id = r->id;
  if (choice.version.empty()) return a;
  TERN_ASSIGN_OR_RETURN(a.version, store_->FindVersion(r->model, choice.version));
  if (!a.version) return Internal("rollout " + r->id + " names a missing version");
  // Agents refuse a manifest older than one they have seen. A rollback order (to the previous
  // version) and a rollout to a version with an older manifest than the previous one (resuming
  // after a rollback, a downgrade) must outrank the manifest the cohort saw last, so the version
  // is re-signed once under a higher counter. Devices outside the cohort ("baseline") stay on
  // what they had, so nothing is re-signed for them (and nothing flips back and forth).
  const std::string other = choice.version == r->version ? r->previous_version : r->version;
  if (resigner_ && (choice.reason == "rollback" || choice.reason == "rollout") && !other.empty()) {
    TERN_ASSIGN_OR_RETURN(auto rival, store_->FindVersion(r->model, other));
    if (rival && a.version->manifest_version <= rival->manifest_version) {
      const ModelVersionRecord current = *a.version;
      TERN_ASSIGN_OR_RETURN(
          a.version,
          store_->ResignModelVersion(r->model, choice.version, rival->manifest_version + 1,
                                     [&](int64_t counter) { return resigner_(current, counter); }));
      if (!a.version) return Internal("rollout " + r->id + " names a missing version");
    }
  }
  a.reason = choice.reason;
  a.etag = EtagOf(*a.version);
  return a;
}

}  // namespace tern::hub
