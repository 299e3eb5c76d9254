// Rollouts against the store: creation, status, manual commands, the periodic gate evaluation
// that promotes or halts them, and each device's assignment. All state lives in the store and
// every transition is one compare-and-set, so a restarted hub (or a second replica) carries on
// from where the last one stopped. The state machine itself is hub/rollout.h.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "hub/rollout.h"
#include "hub/store.h"

namespace tern::hub {

/// What a device should run.
struct Assignment {
  std::optional<ModelVersionRecord> version;  ///< nullopt: nothing assigned
  std::string reason;                         ///< rollout, baseline, rollback, none
  std::string rollout_id;
  std::string etag;  ///< quoted; changes exactly when the model version to run changes
};

class RolloutService {
 public:
  /// `clock` gives Unix seconds; `on_change` runs after any change that may move assignments.
  RolloutService(Store* store, std::function<int64_t()> clock, std::function<void()> on_change);

  /// POST /v1/rollouts. InvalidArgument → 400, FailedPrecondition → 409 (the group is busy).
  Result<RolloutRecord> Create(const nlohmann::json& body);
  /// GET /v1/rollouts/{id}: state, stage, device counts, live gate evaluation, history.
  Result<std::optional<nlohmann::json>> Describe(const std::string& id);
  /// Summaries of every rollout.
  Result<nlohmann::json> List();
  /// pause, resume, abort. FailedPrecondition → 409. nullopt: no such rollout.
  Result<std::optional<RolloutRecord>> Command(const std::string& id, RolloutCommand command);
  /// Evaluates the gates of every running rollout once; returns how many changed state.
  Result<int> Tick();
  Result<Assignment> AssignmentFor(const DeviceRecord& device);
  /// Signs a fresh manifest for `version` with manifest counter `counter` (the hub's targets
  /// key). Without one, rollback orders carry the version's original manifest.
  using Resigner =
      std::function<Result<std::string>(const ModelVersionRecord& version, int64_t counter)>;
  void set_resigner(Resigner r) { resigner_ = std::move(r); }

 private:
  struct Observed;
  Result<Observed> Observe(const RolloutRecord& r, const RolloutSpec& spec);
  Result<bool> Save(RolloutRecord r, const Transition& t, const std::string& evaluation_json);
  int64_t Now() const { return clock_(); }

  Store* store_;
  std::function<int64_t()> clock_;
  std::function<void()> on_change_;
  Resigner resigner_;
};

/// The spec stored with a rollout, parsed (it was validated when the rollout was created).
Result<RolloutSpec> StoredSpec(const RolloutRecord& r);
Result<RolloutPosition> PositionOf(const RolloutRecord& r);

}  // namespace tern::hub
