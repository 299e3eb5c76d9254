#include "hub/rollout.h"

#include <cmath>
#include <cstdio>

#include "fleet/crypto.h"

namespace tern::hub {
namespace {

using Json = nlohmann::json;

std::string Percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", fraction * 100.0);
  return buf;
}

std::string Ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", ms);
  return buf;
}

Result<double> NumberField(const Json& obj, const char* key, double fallback, double lo,
                           double hi) {
  if (!obj.contains(key)) return fallback;
  const Json& v = obj[key];
  if (!v.is_number()) return InvalidArgument(std::string("\"") + key + "\" must be a number");
  double d = v.get<double>();
  if (!(d >= lo && d <= hi)) {
    return InvalidArgument(std::string("\"") + key + "\" must be in [" + std::to_string(lo) + ", " +
                           std::to_string(hi) + "]");
  }
  return d;
}

}  // namespace

Result<RolloutSpec> RolloutSpec::FromJson(const Json& stages, const StageGates& defaults) {
  if (!stages.is_array() || stages.empty() || stages.size() > 20) {
    return InvalidArgument("\"stages\" must be an array of 1 to 20 stages");
  }
  RolloutSpec spec;
  for (const auto& js : stages) {
    if (!js.is_object()) return InvalidArgument("a stage must be an object");
    RolloutStage st;
    st.gates = defaults;
    TERN_ASSIGN_OR_RETURN(double percent, NumberField(js, "percent", -1, 0.01, 100));
    st.basis_points = static_cast<int64_t>(std::llround(percent * 100));
    TERN_ASSIGN_OR_RETURN(double min_devices,
                          NumberField(js, "min_devices", double(defaults.min_devices), 0, 1e9));
    st.gates.min_devices = static_cast<int64_t>(min_devices);
    TERN_ASSIGN_OR_RETURN(st.gates.max_error_rate,
                          NumberField(js, "max_error_rate", defaults.max_error_rate, 0, 1));
    TERN_ASSIGN_OR_RETURN(st.gates.max_crash_rate,
                          NumberField(js, "max_crash_rate", defaults.max_crash_rate, 0, 1));
    TERN_ASSIGN_OR_RETURN(
        st.gates.max_p95_regression,
        NumberField(js, "max_p95_regression", defaults.max_p95_regression, -1, 100));
    TERN_ASSIGN_OR_RETURN(double soak,
                          NumberField(js, "min_soak_s", double(defaults.min_soak_s), 0, 1e8));
    st.gates.min_soak_s = static_cast<int64_t>(soak);
    if (!spec.stages.empty() && st.basis_points <= spec.stages.back().basis_points) {
      return InvalidArgument("stage percentages must increase");
    }
    spec.stages.push_back(st);
  }
  if (spec.stages.back().basis_points != 10000) {
    return InvalidArgument("the last stage must be at 100 percent");
  }
  return spec;
}

Json RolloutSpec::ToJson() const {
  Json out = Json::array();
  for (const auto& st : stages) {
    out.push_back({{"percent", static_cast<double>(st.basis_points) / 100.0},
                   {"min_devices", st.gates.min_devices},
                   {"max_error_rate", st.gates.max_error_rate},
                   {"max_crash_rate", st.gates.max_crash_rate},
                   {"max_p95_regression", st.gates.max_p95_regression},
                   {"min_soak_s", st.gates.min_soak_s}});
  }
  return out;
}

const char* RolloutStateName(RolloutState s) {
  switch (s) {
    case RolloutState::kRunning:
      return "running";
    case RolloutState::kPaused:
      return "paused";
    case RolloutState::kHalted:
      return "halted";
    case RolloutState::kAborted:
      return "aborted";
    case RolloutState::kCompleted:
      return "completed";
  }
  return "unknown";
}

Result<RolloutState> ParseRolloutState(std::string_view name) {
  for (auto s : {RolloutState::kRunning, RolloutState::kPaused, RolloutState::kHalted,
                 RolloutState::kAborted, RolloutState::kCompleted}) {
    if (name == RolloutStateName(s)) return s;
  }
  return InvalidArgument("unknown rollout state \"" + std::string(name) + "\"");
}

const char* GateStateName(GateState s) {
  switch (s) {
    case GateState::kPass:
      return "pass";
    case GateState::kPending:
      return "pending";
    case GateState::kFail:
      return "fail";
  }
  return "unknown";
}

Json StageEvaluation::ToJson() const {
  Json gates_json = Json::array();
  for (const auto& g : gates) {
    gates_json.push_back(
        {{"gate", g.gate}, {"state", GateStateName(g.state)}, {"reason", g.reason}});
  }
  return {{"verdict", GateStateName(verdict)}, {"gates", gates_json}};
}

std::string StageEvaluation::FailureReason() const {
  std::string out;
  for (const auto& g : gates) {
    if (g.state != GateState::kFail) continue;
    if (!out.empty()) out += "; ";
    out += g.gate + ": " + g.reason;
  }
  return out;
}

StageEvaluation EvaluateStage(const RolloutStage& stage, const StageObservation& seen,
                              int64_t stage_age_s) {
  const StageGates& g = stage.gates;
  StageEvaluation ev;
  const int64_t needed = std::min(g.min_devices, seen.cohort_devices);
  const bool enough = seen.reporting_devices >= needed;

  GateResult devices{"min_devices", enough ? GateState::kPass : GateState::kPending, ""};
  devices.reason = std::to_string(seen.reporting_devices) + " of " + std::to_string(needed) +
                   " devices reporting (cohort " + std::to_string(seen.cohort_devices) + ")";
  ev.gates.push_back(devices);

  GateResult errors{"error_rate", GateState::kPending, "waiting for devices"};
  if (enough) {
    // No inferences but errors (a model that fails every run) is a 100% error rate.
    double rate = seen.inferences > 0
                      ? static_cast<double>(seen.errors) / static_cast<double>(seen.inferences)
                      : (seen.errors > 0 ? 1.0 : 0.0);
    errors.state = rate <= g.max_error_rate ? GateState::kPass : GateState::kFail;
    errors.reason = Percent(rate) + " (max " + Percent(g.max_error_rate) + ", " +
                    std::to_string(seen.errors) + " errors in " + std::to_string(seen.inferences) +
                    " inferences)";
  }
  ev.gates.push_back(errors);

  GateResult crashes{"crash_rate", GateState::kPending, "waiting for devices"};
  if (enough) {
    double rate = seen.reporting_devices > 0 ? static_cast<double>(seen.failing_devices) /
                                                   static_cast<double>(seen.reporting_devices)
                                             : 0.0;
    crashes.state = rate <= g.max_crash_rate ? GateState::kPass : GateState::kFail;
    crashes.reason =
        std::to_string(seen.failing_devices) + " of " + std::to_string(seen.reporting_devices) +
        " devices failing = " + Percent(rate) + " (max " + Percent(g.max_crash_rate) + ")";
  }
  ev.gates.push_back(crashes);

  GateResult latency{"p95_latency", GateState::kPass, "no latency gate"};
  if (g.max_p95_regression >= 0) {
    if (!enough) {
      latency = {"p95_latency", GateState::kPending, "waiting for devices"};
    } else if (!seen.p95_ms) {
      latency.reason = "no latency samples from the new version";
    } else if (!seen.baseline_p95_ms) {
      latency.reason = "p95 " + Ms(*seen.p95_ms) + "; no baseline from the previous version";
    } else {
      double limit = *seen.baseline_p95_ms * (1.0 + g.max_p95_regression);
      latency.state = *seen.p95_ms <= limit ? GateState::kPass : GateState::kFail;
      latency.reason = "p95 " + Ms(*seen.p95_ms) + " vs " + Ms(*seen.baseline_p95_ms) +
                       " before (limit " + Ms(limit) + ")";
    }
  }
  ev.gates.push_back(latency);

  GateResult soak{"soak", stage_age_s >= g.min_soak_s ? GateState::kPass : GateState::kPending,
                  std::to_string(stage_age_s) + " s of " + std::to_string(g.min_soak_s) + " s"};
  ev.gates.push_back(soak);

  bool all_pass = true;
  for (const auto& r : ev.gates) {
    if (r.state == GateState::kFail) ev.verdict = GateState::kFail;
    all_pass = all_pass && r.state == GateState::kPass;
  }
  if (ev.verdict != GateState::kFail && all_pass) ev.verdict = GateState::kPass;
  return ev;
}

Transition Step(const RolloutPosition& at, const RolloutSpec& spec,
                const StageEvaluation& evaluation, int64_t now) {
  Transition t{at, false, ""};
  if (at.state != RolloutState::kRunning) return t;
  if (evaluation.verdict == GateState::kFail) {
    t.next.state = RolloutState::kHalted;
    t.changed = true;
    t.reason = "gate failed in stage " + std::to_string(at.stage + 1) + ": " +
               evaluation.FailureReason() + "; rolling back the cohort";
    return t;
  }
  if (evaluation.verdict != GateState::kPass) return t;
  t.changed = true;
  if (at.stage + 1 >= static_cast<int64_t>(spec.stages.size())) {
    t.next.state = RolloutState::kCompleted;
    t.reason = "all stages passed";
  } else {
    t.next.stage = at.stage + 1;
    t.next.stage_started_at = now;
    t.reason =
        "stage " + std::to_string(at.stage + 1) + " passed; promoted to " +
        Percent(static_cast<double>(spec.stages[static_cast<size_t>(t.next.stage)].basis_points) /
                10000.0);
  }
  return t;
}

Result<RolloutCommand> ParseRolloutCommand(std::string_view name) {
  if (name == "pause") return RolloutCommand::kPause;
  if (name == "resume") return RolloutCommand::kResume;
  if (name == "abort") return RolloutCommand::kAbort;
  return InvalidArgument("unknown rollout command \"" + std::string(name) + "\"");
}

Result<Transition> Apply(const RolloutPosition& at, RolloutCommand command, int64_t now) {
  Transition t{at, true, ""};
  auto refuse = [&](const char* what) {
    return Status(StatusCode::kFailedPrecondition,
                  std::string("cannot ") + what + " a " + RolloutStateName(at.state) + " rollout");
  };
  switch (command) {
    case RolloutCommand::kPause:
      if (at.state != RolloutState::kRunning) return refuse("pause");
      t.next.state = RolloutState::kPaused;
      t.reason = "paused by an operator";
      return t;
    case RolloutCommand::kResume:
      if (at.state != RolloutState::kPaused && at.state != RolloutState::kHalted) {
        return refuse("resume");
      }
      // The window restarts: telemetry from before the pause or halt says nothing about now.
      t.next.state = RolloutState::kRunning;
      t.next.stage_started_at = now;
      t.reason = "resumed by an operator";
      return t;
    case RolloutCommand::kAbort:
      if (at.state == RolloutState::kAborted || at.state == RolloutState::kCompleted) {
        return refuse("abort");
      }
      t.next.state = RolloutState::kAborted;
      t.reason = "aborted by an operator; every device returns to the previous version";
      return t;
  }
  return Internal("unknown command");
}

uint32_t CohortPoint(std::string_view rollout_id, std::string_view device_id) {
  std::string key;
  key.reserve(rollout_id.size() + device_id.size() + 1);
  key.append(rollout_id).append(1, '\n').append(device_id);
  auto digest = fleet::Sha256(key);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | digest[static_cast<size_t>(i)];
  return static_cast<uint32_t>(v % 10000);
}

bool InCohort(uint32_t point, const RolloutStage& stage) {
  return static_cast<int64_t>(point) < stage.basis_points;
}

VersionChoice ChooseVersion(const RolloutPosition& at, const RolloutSpec& spec,
                            const std::string& version, const std::string& previous_version,
                            uint32_t point) {
  switch (at.state) {
    case RolloutState::kCompleted:
      return {version, "rollout"};
    case RolloutState::kRunning:
    case RolloutState::kPaused: {
      if (spec.stages.empty()) return {previous_version, "baseline"};
      size_t i =
          std::min(static_cast<size_t>(std::max<int64_t>(at.stage, 0)), spec.stages.size() - 1);
      if (InCohort(point, spec.stages[i])) return {version, "rollout"};
      return {previous_version, "baseline"};
    }
    case RolloutState::kHalted:
    case RolloutState::kAborted:
      return {previous_version, "rollback"};
  }
  return {previous_version, "baseline"};
}

}  // namespace tern::hub
