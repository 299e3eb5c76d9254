// tern-agent's core: keeps one verified model serving and moves it to what the hub assigns.
//
// A sync: register (once) → walk the root chain forward → pick the target (the hub's assignment
// when the hub has that endpoint, else the configured model and version) → fetch and verify the
// signed manifest (TrustStore, persisted) → choose a variant → download model and probe with
// resume, check size and SHA-256 → stage into the idle slot → switch the pointer ("trial") →
// health check → commit and swap the served session, or roll back to the last known good.
// Every step is durable before the next begins, so a crash anywhere resumes or recovers (see
// slots.h and the crash points in docs/agent.md).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/capabilities.h"
#include "agent/config.h"
#include "agent/crash.h"
#include "agent/fl_worker.h"
#include "agent/hub_client.h"
#include "agent/server.h"
#include "agent/slots.h"
#include "agent/telemetry.h"
#include "fleet/trust.h"

namespace tern::agent {

enum class SyncOutcome {
  kUpToDate,    ///< already running the target
  kInstalled,   ///< switched to a new version that passed its health check
  kRolledBack,  ///< the new version failed its health check; the old one serves
  kDeferred,    ///< a download is waiting for the download conditions
  kSkipped,     ///< the target failed its health check before; waiting for a newer one
  kRefused,     ///< metadata or a file failed verification; nothing changed
  kNoTarget,    ///< nothing published for the configured model yet
};
const char* SyncOutcomeName(SyncOutcome o);

class Agent {
 public:
  explicit Agent(AgentConfig config);
  ~Agent();

  /// Prepares the state folder, restores trust and recovers the slots (finishing or undoing an
  /// interrupted switch) and loads the active model. Works with no hub.
  Status Init();
  /// Serves the active model on the configured Unix socket.
  Status StartServing();
  /// One round with the hub. Errors are transport or local failures; refusals are outcomes.
  Result<SyncOutcome> SyncOnce();
  /// SyncOnce, then records the outcome in STATE/status.json.
  Result<SyncOutcome> SyncAndReport();
  /// Cuts a telemetry report and sends what is queued (no error when the hub is away).
  void FlushTelemetry();
  /// Syncs and flushes every poll interval (with jitter) until Stop().
  void RunLoop();
  void Stop();
  /// Federated learning from the host application's examples instead of `fl.data_dir`
  /// (before RunLoop).
  void SetFlDataSource(std::unique_ptr<fl::DataSource> source) { fl_data_ = std::move(source); }

  ModelHolder& holder() { return holder_; }
  int64_t Now() const;

 private:
  Status EnsureRegistered();
  /// The federated-learning thread: check-ins and rounds until Stop() (src/agent/fl_worker.h).
  void FlLoop();
  void StartFl();
  Status RefreshRoot();
  /// What to run: the hub's assignment, else the configuration. `model` empty: nothing yet.
  struct Target {
    std::string model;
    std::string version;
    fleet::Json manifest;    ///< the signed envelope when the assignment carried it
    std::string reason;      ///< the assignment's reason; empty when the configuration decided
    bool unchanged = false;  ///< a long-poll answered 304
  };
  /// `wait_s` > 0: long-poll until the assignment changes (answers with `unchanged` on 304).
  Result<Target> ResolveTarget(int wait_s);
  /// Fetches `sha256` as a zstd patch against the active model when the hub has a smaller one;
  /// false (nothing changed) when that does not work out.
  bool TryDelta(const std::string& sha256, uint64_t size, DownloadStats* stats);
  Result<std::string> Fetch(const std::string& sha256, uint64_t size, bool crash_points,
                            DownloadStats* stats);
  Result<SyncOutcome> Install(const fleet::TargetsMetadata& manifest,
                              const fleet::TargetVariant& variant);
  /// Health-checks the trial slot `p` and commits or rolls back.
  Result<SyncOutcome> Trial(SlotPointer p);
  Status Rollback(const SlotPointer& from, const std::string& why);
  Status Recover();
  Status LoadActive(const std::string& slot, const SlotInfo& info,
                    std::unique_ptr<Session> session);
  bool FailedBefore(const SlotInfo& info) const;
  Status MarkFailed(const SlotInfo& info);
  Status SaveTrust();
  void Event(const std::string& kind, const std::string& model, const std::string& version,
             const std::string& detail, const std::string& from_version = "");
  void WriteStatus(const std::string& outcome, const std::string& message);

  AgentConfig config_;
  CrashPoints crash_;
  std::atomic<bool> stop_{false};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  HubClient client_;
  SlotStore slots_;
  Telemetry telemetry_;
  ModelHolder holder_;
  std::unique_ptr<InferenceServer> server_;
  std::optional<fleet::TrustStore> trust_;
  std::vector<std::string> providers_;
  std::string device_token_;
  std::string device_id_;
  std::string assignment_etag_;  ///< the last assignment's tag (long-poll key)
  int64_t poll_after_s_ = 0;     ///< the hub's hint for the next poll
  uint64_t last_resumed_from_ = 0;
  fleet::Json last_fetch_;  ///< the last model download: sha256, delta or not, bytes fetched
  std::unique_ptr<fl::DataSource> fl_data_;
  std::unique_ptr<FlWorker> fl_;
  std::thread fl_thread_;
};

}  // namespace tern::agent
