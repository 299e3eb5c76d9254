// The rollout state machine: stages, gates, cohorts and transitions, with no I/O and no clock of
// its own (every function takes `now`), so it is tested with a fake clock.
//
//   running ──gates pass──▶ next stage (running) … last stage passes ──▶ completed
//   running ──a gate fails──▶ halted   (devices in the cohort are sent back to the previous
//   version) running ──pause──▶ paused ──resume──▶ running (the stage's soak and telemetry window
//   restart) halted  ──resume──▶ running (same stage, fresh window) running | paused | halted
//   ──abort──▶ aborted (every device gets the previous version)
//
// A device's place in the fleet is a point in [0, 10000) from a hash of the rollout id and the
// device id; a stage at p% takes the points below p*100. The point never changes within a
// rollout, so a device in the 3% stage stays in every later stage. The rollout id is hashed in
// too, so the same unlucky devices are not the canaries of every rollout.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tern/status.h"

namespace tern::hub {

struct StageGates {
  int64_t min_devices = 1;         ///< cohort devices that must report the new version
  double max_error_rate = 0.01;    ///< errors / inferences
  double max_crash_rate = 0.0;     ///< failing devices / reporting devices
  double max_p95_regression = -1;  ///< new p95 ≤ old p95 × (1 + this); < 0: no latency gate
  int64_t min_soak_s = 0;          ///< the stage lasts at least this long
};

struct RolloutStage {
  int64_t basis_points = 0;  ///< share of the group, 1..10000 (percent × 100)
  StageGates gates;
};

struct RolloutSpec {
  std::vector<RolloutStage> stages;  ///< strictly increasing, the last at 100%

  /// From the request's "stages" array: [{"percent": 10, "min_devices": 3, ...}, ...];
  /// `defaults` gives the gates a stage leaves out.
  static Result<RolloutSpec> FromJson(const nlohmann::json& stages, const StageGates& defaults);
  nlohmann::json ToJson() const;
};

enum class RolloutState { kRunning, kPaused, kHalted, kAborted, kCompleted };
const char* RolloutStateName(RolloutState s);
Result<RolloutState> ParseRolloutState(std::string_view name);

/// The part of a rollout the state machine changes.
struct RolloutPosition {
  RolloutState state = RolloutState::kRunning;
  int64_t stage = 0;
  int64_t stage_started_at = 0;
};

/// What the hub saw of the current stage since it began.
struct StageObservation {
  int64_t cohort_devices = 0;     ///< group devices assigned the new version in this stage
  int64_t reporting_devices = 0;  ///< of those, devices that reported on the new version
  int64_t failing_devices = 0;  ///< of the reporting ones: a crash, failed health check or rollback
  uint64_t inferences = 0;
  uint64_t errors = 0;
  std::optional<double> p95_ms;           ///< new version, cohort devices
  std::optional<double> baseline_p95_ms;  ///< previous version, rest of the group
};

enum class GateState { kPass, kPending, kFail };
const char* GateStateName(GateState s);

struct GateResult {
  std::string gate;  ///< min_devices, error_rate, crash_rate, p95_latency, soak
  GateState state = GateState::kPending;
  std::string reason;
};

struct StageEvaluation {
  GateState verdict = GateState::kPending;  ///< kFail if any gate fails, kPass if all pass
  std::vector<GateResult> gates;
  nlohmann::json ToJson() const;
  /// The failed gates' reasons, joined (for the rollout's reason on a halt).
  std::string FailureReason() const;
};

/// Evaluates a stage's gates. Rate gates wait for the minimum number of devices (capped at the
/// cohort's size, so a small group is not stuck forever) before they can pass or fail.
StageEvaluation EvaluateStage(const RolloutStage& stage, const StageObservation& seen,
                              int64_t stage_age_s);

struct Transition {
  RolloutPosition next;
  bool changed = false;
  std::string reason;
};

/// One automatic step: only a running rollout moves (promote, complete or halt).
Transition Step(const RolloutPosition& at, const RolloutSpec& spec,
                const StageEvaluation& evaluation, int64_t now);

enum class RolloutCommand { kPause, kResume, kAbort };
Result<RolloutCommand> ParseRolloutCommand(std::string_view name);
/// A manual command; FailedPrecondition when the state does not allow it.
Result<Transition> Apply(const RolloutPosition& at, RolloutCommand command, int64_t now);

/// The device's point in [0, 10000) for this rollout.
uint32_t CohortPoint(std::string_view rollout_id, std::string_view device_id);
/// True when the point falls in the stage's share.
bool InCohort(uint32_t point, const RolloutStage& stage);

/// Which version a device of the group should run, and why.
struct VersionChoice {
  std::string version;  ///< "" = nothing assigned
  std::string reason;   ///< rollout, baseline (not in the cohort yet), rollback
};
VersionChoice ChooseVersion(const RolloutPosition& at, const RolloutSpec& spec,
                            const std::string& version, const std::string& previous_version,
                            uint32_t point);

}  // namespace tern::hub
