#include "fl/coordinator.h"

#include <algorithm>
#include <cmath>

#include "onnx/initializer_update.h"

namespace tern::fl {

Result<std::unique_ptr<Coordinator>> Coordinator::Create(const FlTask& task, std::string model_onnx,
                                                         ParamLayout params, ParamLayout states,
                                                         std::vector<float> initial_params,
                                                         std::vector<float> initial_states,
                                                         std::unique_ptr<UpdateSum> sum,
                                                         uint64_t seed, double now) {
  TERN_RETURN_IF_ERROR(ValidateTask(task));
  if (!sum) return InvalidArgument("no update sum");
  if (initial_params.size() != params.size || initial_states.size() != states.size)
    return InvalidArgument("initial values do not match the parameter layout");
  std::unique_ptr<Coordinator> c(new Coordinator());
  c->task_ = task;
  c->base_onnx_ = model_onnx;
  c->params_layout_ = std::move(params);
  c->states_layout_ = std::move(states);
  c->sum_ = std::move(sum);
  TERN_ASSIGN_OR_RETURN(
      c->optimizer_,
      ServerOptimizer::Create(task.algorithm, task.server, initial_params.size(), task.population));
  auto model = std::make_shared<GlobalModel>();
  model->version = 0;
  model->onnx = std::move(model_onnx);
  model->params = std::move(initial_params);
  model->states = std::move(initial_states);
  c->model_ = std::move(model);
  if (task.algorithm == Algorithm::kScaffold)
    c->control_ = std::make_shared<const std::vector<float>>(c->optimizer_.control());
  c->rng_.seed(seed);
  c->round_seconds_ = task.round.selection_timeout_s + task.round.deadline_s;
  c->OpenAttempt(now);
  return c;
}

int Coordinator::SelectionTarget() const {
  return static_cast<int>(std::ceil(task_.round.goal_count * task_.round.over_selection - 1e-9));
}

void Coordinator::OpenAttempt(double now) {
  phase_ = Phase::kSelecting;
  opened_at_ = now;
  selection_closed_at_ = deadline_ = 0;
  cohort_.clear();
  members_.clear();
  reported_.clear();
  buffered_.clear();
  sum_error_.clear();
  loss_sum_ = 0;
  examples_ = 0;
}

double Coordinator::NextWindowDelay(double now) {
  // The next selection opens when this round closes: at the latest at its deadline, usually
  // after about a typical round's length. Arrivals are spread over the first half of the
  // selection window so that a large population does not check in all at once.
  double remaining = 0;
  if (phase_ == Phase::kReporting)
    remaining = std::min(deadline_, opened_at_ + round_seconds_) - now;
  std::uniform_real_distribution<double> spread(0.0, task_.round.selection_timeout_s / 2);
  return std::max(0.0, remaining) + spread(rng_);
}

CheckInResult Coordinator::CheckIn(const std::string& client, const DeviceState& state,
                                   double now) {
  CheckInResult r;
  (void)Advance(now);  // an aggregation error ends the task; the phase says so below
  if (phase_ == Phase::kDone || phase_ == Phase::kFailed) {
    r.outcome = CheckInResult::Outcome::kTaskDone;
    r.reason = end_reason_;
    return r;
  }
  const std::string why = IneligibleReason(task_.eligibility, state);
  if (!why.empty()) {
    std::uniform_real_distribution<double> later(0.5, 1.5);
    r.outcome = CheckInResult::Outcome::kIneligible;
    r.reason = why;
    r.retry_after_s = task_.round.selection_timeout_s * later(rng_);
    return r;
  }
  r.outcome = CheckInResult::Outcome::kRejected;
  auto rejoin = rejoin_at_.find(client);
  if (rejoin != rejoin_at_.end() && rejoin->second > now) {
    r.reason = "took part recently";
    r.retry_after_s = rejoin->second - now;
    return r;
  }
  if (members_.count(client)) {
    r.reason = "already selected for this round";
    r.retry_after_s = NextWindowDelay(now);
    return r;
  }
  if (phase_ != Phase::kSelecting) {
    r.reason = "round in progress";
    r.retry_after_s = NextWindowDelay(now);
    return r;
  }
  members_[client] = Member::kSelected;
  cohort_.push_back(client);
  r.outcome = CheckInResult::Outcome::kAccepted;
  Assignment& a = r.assignment;
  a.task = task_.name;
  a.round = round_;
  a.attempt = attempt_;
  a.algorithm = task_.algorithm;
  a.plan = task_.plan;
  // Central DP with adaptive clipping sets the bound round by round.
  if (sum_->clip_norm() > 0) a.plan.clip_norm = static_cast<float>(sum_->clip_norm());
  a.model = model_;
  a.server_control = control_;
  a.deadline = now + task_.round.deadline_s;
  if (static_cast<int>(cohort_.size()) >= SelectionTarget()) CloseSelection(now);
  return r;
}

ReportResult Coordinator::Report(const std::string& client, int64_t round, int attempt,
                                 const ClientUpdate& update, double now) {
  ReportResult r;
  (void)Advance(now);
  const bool current = round == round_ && attempt == attempt_ &&
                       (phase_ == Phase::kSelecting || phase_ == Phase::kReporting);
  if (!current) {
    // A straggler: its round has closed. Count it where the record of that attempt is.
    for (auto it = history_.rbegin(); it != history_.rend(); ++it)
      if (it->round == round && it->attempt == attempt) {
        ++it->late;
        break;
      }
    r.reason =
        "round " + std::to_string(round) + " attempt " + std::to_string(attempt) + " is closed";
    r.retry_after_s = NextWindowDelay(now);
    return r;
  }
  auto m = members_.find(client);
  if (m == members_.end() || m->second != Member::kSelected) {
    r.reason = m == members_.end() ? "not selected for this round" : "already reported";
    r.retry_after_s = NextWindowDelay(now);
    return r;
  }
  const SumShape shape{params_layout_.size, states_layout_.size,
                       task_.algorithm == Algorithm::kScaffold ? params_layout_.size : 0};
  Status ok = CheckUpdateShape(update, shape);
  if (ok.ok() && phase_ == Phase::kReporting)
    ok = sum_->Add(client, update, static_cast<double>(update.examples));
  if (!ok.ok()) {
    m->second = Member::kAbandoned;
    r.reason = "update refused: " + ok.ToString();
    r.retry_after_s = NextWindowDelay(now);
    return r;
  }
  // Reports that arrive while selection is still open wait until the cohort is fixed: secure
  // aggregation can only start from the final cohort.
  if (phase_ == Phase::kSelecting) buffered_.emplace_back(client, update);
  m->second = Member::kReported;
  reported_.push_back(client);
  loss_sum_ += update.train_loss;
  examples_ += update.examples;
  rejoin_at_[client] = now + task_.round.min_rejoin_s;
  r.accepted = true;
  if (phase_ == Phase::kSelecting) {
    if (static_cast<int>(reported_.size()) >= task_.round.goal_count) CloseSelection(now);
  } else if (static_cast<int>(reported_.size()) >= task_.round.goal_count) {
    (void)CloseRound(now);
  }
  (void)Advance(now);  // every member accounted for: the round can close now
  r.retry_after_s = std::max(task_.round.min_rejoin_s, NextWindowDelay(now));
  return r;
}

void Coordinator::Abandon(const std::string& client, int64_t round, int attempt, double now) {
  if (round != round_ || attempt != attempt_) return;
  auto m = members_.find(client);
  if (m == members_.end() || m->second != Member::kSelected) return;
  m->second = Member::kAbandoned;
  (void)Advance(now);
}

void Coordinator::CloseSelection(double now) {
  phase_ = Phase::kReporting;
  selection_closed_at_ = now;
  deadline_ = now + task_.round.deadline_s;
  const SumShape shape{params_layout_.size, states_layout_.size,
                       task_.algorithm == Algorithm::kScaffold ? params_layout_.size : 0};
  Status s = sum_->Begin(round_, cohort_, shape);
  for (auto& [client, update] : buffered_) {
    if (s.ok()) s = sum_->Add(client, update, static_cast<double>(update.examples));
    if (!s.ok()) break;
  }
  buffered_.clear();
  if (!s.ok()) {
    // The sum cannot be formed: fail this attempt (its reports are lost, not mixed up).
    reported_.clear();
    sum_error_ = s.ToString();
  }
  if (static_cast<int>(reported_.size()) >= task_.round.goal_count) (void)CloseRound(now);
}

Status Coordinator::Advance(double now) {
  for (;;) {
    if (phase_ == Phase::kSelecting) {
      if (now < opened_at_ + task_.round.selection_timeout_s) return Status::Ok();
      if (static_cast<int>(cohort_.size()) >= task_.round.min_reports) {
        CloseSelection(now);
        continue;
      }
      RoundRecord rec;
      rec.round = round_;
      rec.attempt = attempt_;
      rec.selected = static_cast<int>(cohort_.size());
      rec.failure = "only " + std::to_string(cohort_.size()) + " devices selected";
      rec.opened_at = opened_at_;
      rec.closed_at = now;
      rec.model_version = model_->version;
      history_.push_back(rec);
      buffered_.clear();
      // Too few devices costs no training, so selection simply starts over (a task with no
      // devices waits for them); only attempts that fail in reporting count to max_attempts.
      ++attempt_;
      OpenAttempt(now);
      return Status::Ok();
    }
    if (phase_ != Phase::kReporting) return Status::Ok();
    const bool all_in = std::none_of(members_.begin(), members_.end(),
                                     [](const auto& m) { return m.second == Member::kSelected; });
    if (now < deadline_ && !all_in) return Status::Ok();
    return CloseRound(now);
  }
}

Status Coordinator::CloseRound(double now) {
  RoundRecord rec;
  rec.round = round_;
  rec.attempt = attempt_;
  rec.selected = static_cast<int>(cohort_.size());
  rec.reports = static_cast<int>(reported_.size());
  for (const auto& [client, m] : members_) {
    if (m == Member::kAbandoned) ++rec.abandoned;
    if (m == Member::kSelected) ++rec.missing;
  }
  rec.examples = examples_;
  rec.mean_train_loss = rec.reports > 0 ? loss_sum_ / rec.reports : 0;
  rec.opened_at = opened_at_;
  rec.closed_at = now;
  rec.model_version = model_->version;
  // Pace steering's estimate of a round's length follows the recent rounds closely: rounds that
  // close at the goal count are much shorter than the deadline it starts from.
  round_seconds_ = 0.5 * round_seconds_ + 0.5 * (now - opened_at_);

  Status failure;
  if (rec.reports < task_.round.min_reports) {
    failure = Status(StatusCode::kFailedPrecondition, std::to_string(rec.reports) +
                                                          " reports, fewer than the minimum " +
                                                          std::to_string(task_.round.min_reports));
    if (!sum_error_.empty()) failure = failure.WithContext(sum_error_);
  } else {
    failure = Commit(now, &rec);
  }
  if (!failure.ok()) {
    sum_->Abort();
    rec.failure = failure.message();
    rec.epsilon = sum_->epsilon();
    history_.push_back(rec);
    ++attempt_;
    if (++failed_attempts_ >= task_.round.max_attempts) {
      phase_ = Phase::kFailed;
      end_reason_ = "round " + std::to_string(round_) + " failed " +
                    std::to_string(task_.round.max_attempts) + " times: " + rec.failure;
      return Status::Ok();
    }
    OpenAttempt(now);
    return Status::Ok();
  }
  history_.push_back(rec);
  ++round_;
  attempt_ = 1;
  failed_attempts_ = 0;
  if (task_.max_rounds > 0 && round_ > task_.max_rounds) {
    phase_ = Phase::kDone;
    end_reason_ = "completed " + std::to_string(task_.max_rounds) + " rounds";
  } else if (sum_->budget_spent()) {
    phase_ = Phase::kDone;
    end_reason_ = "privacy budget spent";
  } else {
    OpenAttempt(now);
  }
  return Status::Ok();
}

Status Coordinator::Commit(double now, RoundRecord* rec) {
  TERN_ASSIGN_OR_RETURN(UpdateTotals totals, sum_->Finish(reported_));
  auto next = std::make_shared<GlobalModel>();
  next->params = model_->params;
  next->states = model_->states;
  TERN_RETURN_IF_ERROR(optimizer_.Apply(totals, next->params, next->states));
  TERN_ASSIGN_OR_RETURN(NamedTensors values, params_layout_.Unflatten(next->params));
  TERN_ASSIGN_OR_RETURN(NamedTensors states, states_layout_.Unflatten(next->states));
  values.insert(values.end(), states.begin(), states.end());
  TERN_ASSIGN_OR_RETURN(next->onnx, onnx::UpdateInitializers(base_onnx_, values));
  next->version = model_->version + 1;
  model_ = std::move(next);
  if (task_.algorithm == Algorithm::kScaffold)
    control_ = std::make_shared<const std::vector<float>>(optimizer_.control());
  rec->committed = true;
  rec->model_version = model_->version;
  rec->epsilon = sum_->epsilon();
  return Status::Ok();
}

}  // namespace tern::fl
