// The hub's federated-learning coordinator: FL tasks over the fleet's devices.
//
// Each task hosts one fl::Coordinator (selection, deadline, goal count, pace steering,
// aggregation and the server optimizer; src/fl/coordinator.h) behind HTTP:
//   - devices check in with their state (POST /v1/fl/checkin); selected ones get the plan and the
//     round's model (a blob), the others a time to come back;
//   - with secure aggregation the hub plays the server side of the four SecAgg rounds
//     (src/fl/privacy/secagg.h) with the selected devices over HTTP: advertise keys -> share
//     keys -> masked input (the device's report) -> unmasking. Each step closes when every
//     device still in has answered or at its timeout; the masked-input step closes at the goal
//     count or before the round's deadline, leaving one step timeout for unmasking. The
//     unmasked sum then goes to the coordinator through fl::ExternalSum, so the coordinator
//     never sees one device's update; without secure aggregation devices post their update;
//   - every committed round's model becomes a new version in the registry (a blob and a signed
//     manifest, like any published version), so the rollout path can ship it.
// Rounds live in memory; each task's definition and progress (rounds published, current
// version) are saved in DATA/fl/<task>.json after every commit, so a restarted hub resumes the
// task from its last published model (the round in flight is abandoned; devices see their round
// closed and check in again; server-optimizer moments of FedAdam/FedYogi start over). The
// registry only ever gets whole versions (one store transaction each).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fleet/canonical_json.h"
#include "hub/blob_store.h"
#include "hub/hub_keys.h"
#include "hub/store.h"

namespace tern::hub {

/// An HTTP status and a JSON body.
struct FlReply {
  int status = 200;
  fleet::Json body;
};

class FlService {
 public:
  /// `unix_clock`: Unix seconds for the registry; round timing uses a monotonic clock.
  /// `state_dir` (empty: none) keeps each task's definition and progress, so a restarted hub
  /// resumes its tasks from their last published round.
  FlService(Store* store, BlobStore* blobs, const HubKeys* keys,
            std::function<int64_t()> unix_clock, int64_t manifest_ttl_s, std::string state_dir);
  /// Resumes the tasks saved in the state folder that had not ended (call once at start).
  void Restore();
  ~FlService();

  // Admin.
  FlReply CreateTask(const fleet::Json& body);
  FlReply ListTasks();
  FlReply GetTask(const std::string& name);
  // Devices.
  FlReply CheckIn(const std::string& device, const fleet::Json& body);
  /// GET .../secagg?round=&attempt=&step=config|keys|shares|unmask: the server's message.
  FlReply SecAggGet(const std::string& task, const std::string& device,
                    const std::map<std::string, std::string>& query);
  /// POST .../secagg {round, attempt, step: advertise|share|masked|unmask, message, ...}.
  FlReply SecAggPost(const std::string& task, const std::string& device, const fleet::Json& body);
  /// POST .../report: a plain update (tasks without secure aggregation).
  FlReply Report(const std::string& task, const std::string& device, const fleet::Json& body);
  FlReply Abandon(const std::string& task, const std::string& device, const fleet::Json& body);
  /// Moves every task's timers (the hub calls it periodically).
  void Tick();

 private:
  struct Task;
  struct SecAggRound;
  std::shared_ptr<Task> Find(const std::string& name);
  /// A task from its definition; after a restart from (publish_model, resume_version) with
  /// `rounds_done` rounds already published.
  Result<std::shared_ptr<Task>> Build(const fleet::Json& body, int64_t rounds_done,
                                      const std::string& resume_version);
  /// Writes STATE/<task>.json atomically (definition, rounds done, current version, ended).
  Status Save(Task& t);
  double Now() const;
  /// After every call into a task's coordinator: advances time, drives the SecAgg steps and
  /// publishes committed models.
  void Drive(Task& t, double now);
  void StartSecAgg(Task& t, double now);
  void StepSecAgg(Task& t, double now);
  void FailSecAgg(Task& t, const std::string& why, double now);
  Status Publish(Task& t);
  fleet::Json TaskJson(Task& t);

  Store* store_;
  BlobStore* blobs_;
  const HubKeys* keys_;
  std::function<int64_t()> unix_clock_;
  int64_t manifest_ttl_s_;
  std::string state_dir_;
  std::mutex mu_;  ///< guards tasks_ (each task has its own lock)
  std::map<std::string, std::shared_ptr<Task>> tasks_;
};

}  // namespace tern::hub
