// The federated-learning coordinator, after Bonawitz et al. 2019 ("Towards Federated Learning at
// Scale"): rounds of selection -> configuration -> reporting.
//
//   selection   devices check in with their state; eligible ones are accepted (and get the
//               round's assignment: plan + global model) until ceil(goal * over_selection) are
//               in, or the selection timeout passes (then the round goes on if at least
//               min_reports were selected, and is retried otherwise);
//   reporting   accepted reports are added to the round's UpdateSum; the round closes as soon as
//               goal_count reports are in, or when every selected client has reported or given
//               up, or at the deadline; with >= min_reports it commits (a new global model
//               version), else it fails and the same round is attempted again (at most
//               max_attempts failures in reporting; a selection with too few devices just
//               starts over);
//               a report for a closed round (a straggler) is refused.
//   pace        every refusal says when to come back: rejected devices at the start of the next
//               selection window, spread over it so they do not all arrive at once; devices
//               that reported after min_rejoin_s at the earliest.
//
// Transport- and clock-independent: every call takes `now` (seconds on any monotonic clock), so
// the hub can host it behind HTTP and the simulation can drive it with virtual time. Not
// thread-safe: the host serializes calls.
#pragma once

#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fl/client.h"
#include "fl/params.h"
#include "fl/server_optimizer.h"
#include "fl/task.h"
#include "fl/update_sum.h"

namespace tern::fl {

struct CheckInResult {
  enum class Outcome { kAccepted, kRejected, kIneligible, kTaskDone } outcome;
  std::string reason;        ///< why not accepted
  double retry_after_s = 0;  ///< pace steering: check in again after this long
  Assignment assignment;     ///< when accepted
};

struct ReportResult {
  bool accepted = false;
  std::string reason;
  double retry_after_s = 0;
};

/// One attempt of a round, as the coordinator closed it.
struct RoundRecord {
  int64_t round = 0;
  int attempt = 1;
  bool committed = false;
  std::string failure;  ///< why the attempt failed
  int selected = 0;
  int reports = 0;
  int abandoned = 0;     ///< clients that said they gave up
  int missing = 0;       ///< selected clients that neither reported nor gave up (drop-outs)
  int late = 0;          ///< reports refused because the round had closed (stragglers)
  int64_t examples = 0;  ///< sum over the reports
  double mean_train_loss = 0;
  double opened_at = 0, closed_at = 0;
  int64_t model_version = 0;  ///< the version this attempt produced (committed) or started from
  double epsilon = -1;        ///< privacy spent after this round (negative: not private)
};

class Coordinator {
 public:
  /// `model_onnx`: the initial model; `layout` of its trainable parameters and states and their
  /// initial values (LocalTrainer gives all three); `sum`: how reports are summed.
  static Result<std::unique_ptr<Coordinator>> Create(const FlTask& task, std::string model_onnx,
                                                     ParamLayout params, ParamLayout states,
                                                     std::vector<float> initial_params,
                                                     std::vector<float> initial_states,
                                                     std::unique_ptr<UpdateSum> sum, uint64_t seed,
                                                     double now);

  CheckInResult CheckIn(const std::string& client, const DeviceState& state, double now);
  /// A report for (round, attempt) of the client's assignment.
  ReportResult Report(const std::string& client, int64_t round, int attempt,
                      const ClientUpdate& update, double now);
  /// The client gave up on its round (lost eligibility, interrupted, missed its deadline).
  void Abandon(const std::string& client, int64_t round, int attempt, double now);
  /// Closes selection and rounds whose timeouts have passed; call it whenever time moves.
  Status Advance(double now);

  enum class Phase { kSelecting, kReporting, kDone, kFailed };
  Phase phase() const { return phase_; }
  /// Why the task ended (kDone: round limit or privacy budget; kFailed: attempts or an error).
  const std::string& end_reason() const { return end_reason_; }
  int64_t round() const { return round_; }
  int attempt() const { return attempt_; }
  /// The latest committed global model.
  std::shared_ptr<const GlobalModel> model() const { return model_; }
  const std::vector<RoundRecord>& history() const { return history_; }
  const ServerOptimizer& server_optimizer() const { return optimizer_; }
  const FlTask& task() const { return task_; }
  /// How reports are summed (its epsilon(), clip_norm() describe the privacy layer).
  const UpdateSum& update_sum() const { return *sum_; }
  /// Clients the current attempt selected (selection order).
  const std::vector<std::string>& cohort() const { return cohort_; }
  /// When the selection window of the current attempt ends at the latest.
  double selection_ends() const { return opened_at_ + task_.round.selection_timeout_s; }
  /// When the reporting phase of the current attempt ends (its deadline).
  double deadline() const { return deadline_; }

 private:
  Coordinator() = default;
  int SelectionTarget() const;
  void OpenAttempt(double now);
  void CloseSelection(double now);
  Status CloseRound(double now);
  Status Commit(double now, RoundRecord* rec);
  double NextWindowDelay(double now);
  enum class Member { kSelected, kReported, kAbandoned };

  FlTask task_;
  std::string base_onnx_;
  ParamLayout params_layout_, states_layout_;
  std::unique_ptr<UpdateSum> sum_;
  ServerOptimizer optimizer_;
  std::shared_ptr<const GlobalModel> model_;
  std::shared_ptr<const std::vector<float>> control_;
  std::mt19937_64 rng_;

  Phase phase_ = Phase::kSelecting;
  std::string end_reason_;
  int64_t round_ = 1;
  int attempt_ = 1;
  int failed_attempts_ = 0;  ///< attempts of this round that failed in reporting
  double opened_at_ = 0, selection_closed_at_ = 0, deadline_ = 0;
  std::vector<std::string> cohort_;
  std::map<std::string, Member> members_;
  std::vector<std::string> reported_;
  std::vector<std::pair<std::string, ClientUpdate>> buffered_;  ///< reports during selection
  std::string sum_error_;  ///< the UpdateSum refused the round at selection close
  double loss_sum_ = 0;
  int64_t examples_ = 0;
  std::vector<RoundRecord> history_;
  std::map<std::string, double> rejoin_at_;  ///< pace steering for clients that reported
  double round_seconds_ = 0;                 ///< running estimate of a round's length
};

}  // namespace tern::fl
