// The agent's federated-learning client: checks in with the hub's FL coordinator, and when
// selected trains the round's model on local examples (src/fl/client.h) and reports the update,
// through secure aggregation when the task asks for it (the client side of the four SecAgg
// steps, src/fl/privacy/secagg.h, over HTTP; docs/api.md "Federated learning").
//
// It runs on its own thread beside the sync loop and never touches the slots or the served
// session: the round's model lives in memory only, and nothing of a round is written to disk,
// so a kill at any point leaves the device as it was (the hub counts the device as dropped).
// Training stops at the round's deadline, when the device stops being eligible, or when the
// agent stops; the hub is then told the device gave up.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "agent/config.h"
#include "agent/crash.h"
#include "agent/hub_client.h"
#include "fl/client.h"

namespace tern::agent {

class FlWorker {
 public:
  /// `data`: the host's data source; null: the configured data folder.
  FlWorker(const AgentConfig& config, const std::atomic<bool>* stop, CrashPoints crash,
           std::unique_ptr<fl::DataSource> data);
  ~FlWorker();

  void set_device(std::string id, std::string token);
  /// One check-in and, when selected, the whole round. Returns the seconds to wait before the
  /// next check-in (the hub's pace steering, capped by the configuration).
  Result<double> RunOnce();

 private:
  struct Round;
  Status RunRound(const fleet::Json& assignment);
  Result<fl::ClientUpdate> Train(const fl::Assignment& a);
  /// Polls GET .../secagg?step= until the hub has the message (or the deadline passes).
  Result<fleet::Json> WaitFor(const Round& r, const std::string& step);
  Status Post(const std::string& path, const fleet::Json& body);
  fl::DeviceState State();
  double Clock() const;

  const AgentConfig& config_;
  const std::atomic<bool>* stop_;
  CrashPoints crash_;
  HubClient client_;
  std::string device_id_;
  std::unique_ptr<fl::FlClient> fl_client_;
  std::string trainer_sha_;  ///< the model the cached trainer was built for
  std::unique_ptr<fl::LocalTrainer> trainer_;
  fleet::Json eligibility_;  ///< the round's rules, re-checked before every training step
};

}  // namespace tern::agent
