#include "fl/simulation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <thread>

#include "fl/client.h"
#include "fl/coordinator.h"
#include "fl/dp_sum.h"
#include "fl/local_trainer.h"
#include "onnx/initializer_update.h"
#include "train/dataset.h"

namespace tern::fl {

namespace {

// Virtual cost of one example-pass on a device of speed 1; only ratios to the deadline matter.
constexpr double kSecondsPerExample = 0.01;

double WallSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct SimDevice {
  std::unique_ptr<FlClient> client;
  double speed = 1;  ///< virtual seconds per example-pass, relative
  double next_checkin = 0;
  int64_t examples = 0;
};

// One selected client's round, as the simulation plays it.
struct Participation {
  size_t device = 0;
  Assignment assignment;
  double accepted_at = 0;
  bool vanishes = false;
  int64_t vanish_step = 0;
  // Outcome
  Result<ClientUpdate> update = Status(StatusCode::kInternal, "not trained");
  bool missed_deadline = false;
  double finished_at = 0;
};

int64_t PlannedSteps(const ClientPlan& plan, int64_t examples) {
  const int64_t per_epoch = (examples + plan.batch - 1) / plan.batch;
  int64_t steps = per_epoch * plan.epochs;
  if (plan.max_steps > 0) steps = std::min(steps, plan.max_steps);
  return steps;
}

double StepSeconds(const ClientPlan& plan, int64_t examples, double speed) {
  const int64_t per_step = std::min<int64_t>(plan.batch, examples);
  return static_cast<double>(per_step) * kSecondsPerExample * speed;
}

// The simulator knows each device's speed and whether and when it vanishes, so it knows when
// each client will finish (or give up at its deadline) before training it.
void PredictFinish(Participation& p, const SimDevice& d) {
  const ClientPlan& plan = p.assignment.plan;
  const double step_s = StepSeconds(plan, d.examples, d.speed);
  const int64_t planned = PlannedSteps(plan, d.examples);
  const auto in_time =
      static_cast<int64_t>(std::floor((p.assignment.deadline - p.accepted_at) / step_s));
  if (p.vanishes)
    p.finished_at = p.accepted_at + static_cast<double>(p.vanish_step) * step_s;
  else if (planned > in_time)
    p.finished_at = p.assignment.deadline;
  else
    p.finished_at = p.accepted_at + static_cast<double>(planned) * step_s;
}

// Trains `batch` (indices into the cohort) in parallel, one LocalTrainer per thread.
void TrainBatch(const std::vector<size_t>& batch, std::vector<Participation>& cohort,
                std::vector<SimDevice>& devices,
                std::vector<std::unique_ptr<LocalTrainer>>& trainers, uint64_t seed) {
  std::atomic<size_t> next{0};
  auto work = [&](LocalTrainer& trainer) {
    for (size_t b = next++; b < batch.size(); b = next++) {
      Participation& p = cohort[batch[b]];
      SimDevice& d = devices[p.device];
      const double step_s = StepSeconds(p.assignment.plan, d.examples, d.speed);
      StepGuard guard = [&](int64_t steps) -> Status {
        if (p.vanishes && steps >= p.vanish_step)
          return Status(StatusCode::kFailedPrecondition, "device vanished");
        // The client stops as soon as the next step would end past its deadline.
        if (p.accepted_at + static_cast<double>(steps + 1) * step_s > p.assignment.deadline) {
          p.missed_deadline = true;
          return Status(StatusCode::kFailedPrecondition, "deadline passed");
        }
        return Status::Ok();
      };
      p.update =
          d.client->Train(p.assignment, trainer, guard, seed ^ (batch[b] * 0x9E3779B97F4A7C15ull));
    }
  };
  std::vector<std::thread> pool;
  const size_t threads = std::min(trainers.size(), batch.size());
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, std::ref(*trainers[t]));
  work(*trainers[0]);
  for (auto& th : pool) th.join();
}

// The reporting phase: clients train in the virtual-time order of their finish, a few at a time,
// and their reports (or give-ups) reach the coordinator in that order, so only `threads`
// updates are in memory at once. A client whose round has already closed would only be told
// so: it is not trained, and its report is refused like any straggler's. `latest` is raised to
// the last virtual time given to the coordinator, so the simulation's clock never goes back.
Status PlayReporting(Coordinator& coord, std::vector<Participation>& cohort,
                     std::vector<SimDevice>& devices,
                     std::vector<std::unique_ptr<LocalTrainer>>& trainers, uint64_t seed,
                     std::pair<int, int>* fate, double* latest) {
  const int64_t round = coord.round();
  const int attempt = coord.attempt();
  auto closed_at = [&] {
    const auto& h = coord.history();
    for (auto it = h.rbegin(); it != h.rend(); ++it)
      if (it->round == round && it->attempt == attempt) return it->closed_at;
    return std::numeric_limits<double>::infinity();
  };
  std::vector<size_t> order(cohort.size());
  std::iota(order.begin(), order.end(), 0);
  for (Participation& p : cohort) PredictFinish(p, devices[p.device]);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return cohort[a].finished_at < cohort[b].finished_at;
  });
  auto open = [&] {
    return coord.round() == round && coord.attempt() == attempt &&
           coord.phase() == Coordinator::Phase::kReporting;
  };
  for (size_t start = 0; start < order.size(); start += trainers.size()) {
    std::vector<size_t> batch;
    for (size_t j = start; j < std::min(order.size(), start + trainers.size()); ++j)
      if (open()) batch.push_back(order[j]);
    TrainBatch(batch, cohort, devices, trainers, seed);
    for (size_t j = start; j < std::min(order.size(), start + trainers.size()); ++j) {
      Participation& p = cohort[order[j]];
      SimDevice& d = devices[p.device];
      const std::string& id = d.client->id();
      if (p.vanishes) {  // sends nothing; the coordinator counts it as missing
        ++fate->first;
        d.client->Discard();
        continue;
      }
      const bool trained = std::find(batch.begin(), batch.end(), order[j]) != batch.end();
      if (trained && !p.update.ok()) {
        if (!p.missed_deadline) return p.update.status().WithContext("client " + id);
        ++fate->second;
        coord.Abandon(id, round, attempt, p.finished_at);
        *latest = std::max(*latest, p.finished_at);
        d.client->Discard();
        d.next_checkin = p.finished_at;
        continue;
      }
      // A client not trained because its round had closed learns so at the close (the server
      // tells the waiting cohort), so the virtual clock does not run ahead to its finish.
      const ClientUpdate empty;
      const double at = trained ? p.finished_at : std::min(p.finished_at, closed_at());
      ReportResult r = coord.Report(id, round, attempt, trained ? p.update.value() : empty, at);
      *latest = std::max(*latest, at);
      if (r.accepted) {
        d.client->Commit(round, attempt);
      } else {
        d.client->Discard();
        ++fate->second;
      }
      d.next_checkin = at + r.retry_after_s;
      p.update = Status(StatusCode::kInternal, "delivered");  // frees the update
    }
  }
  return Status::Ok();
}

}  // namespace

std::vector<std::vector<int64_t>> DirichletSplit(const std::vector<int64_t>& labels, int classes,
                                                 int clients, double alpha, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(classes));
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] >= 0 && labels[i] < classes)
      by_class[static_cast<size_t>(labels[i])].push_back(static_cast<int64_t>(i));
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(clients));
  std::gamma_distribution<double> gamma(alpha, 1.0);
  std::vector<double> p(static_cast<size_t>(clients));
  for (auto& idx : by_class) {
    std::shuffle(idx.begin(), idx.end(), rng);
    // Dirichlet(alpha) = normalized independent Gamma(alpha, 1) draws.
    double total = 0;
    for (double& x : p) total += (x = gamma(rng));
    if (!(total > 0)) {  // every draw underflowed (tiny alpha): give the class to one client
      std::fill(p.begin(), p.end(), 0.0);
      p[std::uniform_int_distribution<size_t>(0, p.size() - 1)(rng)] = total = 1.0;
    }
    double cum = 0;
    size_t begin = 0;
    for (size_t k = 0; k < p.size(); ++k) {
      cum += p[k] / total;
      const size_t end =
          k + 1 == p.size()
              ? idx.size()
              : std::min(idx.size(),
                         static_cast<size_t>(std::llround(cum * static_cast<double>(idx.size()))));
      for (size_t j = begin; j < end; ++j) out[k].push_back(idx[j]);
      begin = std::max(begin, end);
    }
  }
  return out;
}

Result<SimulationResult> RunSimulation(const SimulationOptions& o,
                                       const std::function<void(const SimRound&)>& on_round) {
  const auto t_start = std::chrono::steady_clock::now();
  if (o.clients <= 0 || o.per_round <= 0 || o.rounds <= 0 || !(o.alpha > 0) ||
      !(o.dropout >= 0 && o.dropout < 1) || !(o.stragglers >= 0 && o.stragglers <= 1) ||
      !(o.availability > 0 && o.availability <= 1) || o.threads <= 0 || o.eval_every <= 0)
    return InvalidArgument("simulation: counts must be positive, fractions in range");
  AggregationOptions ao = o.aggregation;
  ao.population = o.clients;
  ao.expected_cohort = static_cast<int64_t>(std::ceil(o.per_round * o.over_selection));
  // A round closes at its goal count: that many reports are what DP-FedAvg divides by.
  ao.expected_reports = o.per_round;
  ao.rounds = o.rounds;
  ao.clip_norm = o.plan.clip_norm;
  if (ao.dp_seed == 0) ao.dp_seed = o.seed * 0x2545F4914F6CDD1Dull + 17;  // reproducible runs
  TERN_ASSIGN_OR_RETURN(auto sum, MakeUpdateSum(ao));
  SimulationResult result;
  if (const auto* dp = dynamic_cast<const DpSum*>(sum.get()))
    result.noise_multiplier = dp->noise_multiplier();
  const std::string dir = o.data_dir.empty() ? train::kFashionMnistDir : o.data_dir;
  TERN_ASSIGN_OR_RETURN(train::Dataset train_set,
                        train::LoadIdxDataset(dir, "train", o.train_limit));
  TERN_ASSIGN_OR_RETURN(train::Dataset test_set, train::LoadIdxDataset(dir, "t10k", o.test_limit));
  auto shared = std::make_shared<const train::Dataset>(std::move(train_set));
  std::vector<int64_t> labels(shared->labels.data<int64_t>(),
                              shared->labels.data<int64_t>() + shared->size());

  const std::string model_onnx =
      o.model_onnx.empty() ? onnx::BuildImageMlp(o.seed, 28, o.hidden, 10) : o.model_onnx;
  std::vector<std::unique_ptr<LocalTrainer>> trainers;
  for (int t = 0; t < o.threads; ++t) {
    TERN_ASSIGN_OR_RETURN(auto lt, LocalTrainer::Create(model_onnx));
    trainers.push_back(std::move(lt));
  }
  TERN_ASSIGN_OR_RETURN(auto evaluator, LocalTrainer::Create(model_onnx));

  // Devices: a non-IID shard each, a speed, and a client object that holds its own state.
  std::mt19937_64 rng(o.seed);
  const auto shards = DirichletSplit(labels, 10, o.clients, o.alpha, o.seed + 1);
  std::vector<SimDevice> devices(static_cast<size_t>(o.clients));
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  int64_t total_examples = 0;
  for (int k = 0; k < o.clients; ++k) {
    SimDevice& d = devices[static_cast<size_t>(k)];
    d.examples = static_cast<int64_t>(shards[static_cast<size_t>(k)].size());
    total_examples += d.examples;
    d.client = std::make_unique<FlClient>(
        "client-" + std::to_string(k),
        std::make_unique<SubsetDataSource>(shared, shards[static_cast<size_t>(k)]));
    d.speed = u01(rng) < o.stragglers ? 3.0 + 3.0 * u01(rng) : 0.5 + u01(rng);
  }

  FlTask task;
  task.name = "fashion-mnist";
  task.algorithm = o.algorithm;
  task.plan = o.plan;
  task.server = o.server;
  task.population = o.clients;
  task.max_rounds = o.rounds;
  task.round.goal_count = o.per_round;
  task.round.over_selection = o.over_selection;
  task.round.min_reports =
      std::max(1, static_cast<int>(std::ceil(o.min_report_fraction * o.per_round)));
  // The deadline leaves three times what a typical client needs on a device of average speed:
  // normal devices make it unless they hold far more data than most; slow ones mostly do not.
  const int64_t typical = std::max<int64_t>(1, total_examples / o.clients);
  const double typical_s =
      static_cast<double>(PlannedSteps(o.plan, typical)) * StepSeconds(o.plan, typical, 1.0);
  task.round.deadline_s = 3.0 * typical_s + 1.0;
  task.round.selection_timeout_s = 10.0;
  task.round.max_attempts = 5;
  task.eligibility.min_examples = 1;

  double now = 0;
  TERN_ASSIGN_OR_RETURN(
      auto coord,
      Coordinator::Create(task, model_onnx, trainers[0]->params(), trainers[0]->states(),
                          trainers[0]->initial_params(), trainers[0]->initial_states(),
                          std::move(sum), o.seed + 2, now));

  const double p_each = std::pow(o.availability, 1.0 / 3.0);
  size_t seen_history = 0;
  // Per (round, attempt): devices that vanished, and stragglers (gave up at their deadline or
  // reported after the round had closed).
  std::map<std::pair<int64_t, int>, std::pair<int, int>> fates;
  while (coord->phase() == Coordinator::Phase::kSelecting) {
    const auto t_round = std::chrono::steady_clock::now();
    // When no device is due before this selection window ends, time jumps to the first one
    // (the coordinator closes the empty window and opens a new one then).
    double first_due = std::numeric_limits<double>::infinity();
    for (const SimDevice& d : devices) first_due = std::min(first_due, d.next_checkin);
    if (first_due >= coord->selection_ends() - 1) {
      now = std::max(now, first_due);
      TERN_RETURN_IF_ERROR(coord->Advance(now));
    }
    now = std::max(now, coord->selection_ends() - task.round.selection_timeout_s);
    const int64_t round = coord->round();
    const int attempt = coord->attempt();
    // Selection: devices due in this window check in at random moments of its first second.
    const double window_end = coord->selection_ends();
    std::vector<std::pair<double, size_t>> arrivals;
    for (size_t k = 0; k < devices.size(); ++k)
      if (std::max(now, devices[k].next_checkin) + 1 < window_end)
        arrivals.emplace_back(std::max(now, devices[k].next_checkin) + u01(rng), k);
    std::sort(arrivals.begin(), arrivals.end());
    std::vector<Participation> cohort;
    for (const auto& [at, k] : arrivals) {
      // Once selection has closed, the rest of the window's arrivals are simply not played:
      // they would only be turned away, and checking them in would move the coordinator's clock
      // past deadlines of clients the simulation has not trained yet. They stay due.
      if (coord->phase() != Coordinator::Phase::kSelecting) break;
      DeviceState st;
      st.idle = u01(rng) < p_each;
      st.charging = u01(rng) < p_each;
      st.unmetered = u01(rng) < p_each;
      st.examples = devices[k].examples;
      CheckInResult r = coord->CheckIn(devices[k].client->id(), st, at);
      if (r.outcome == CheckInResult::Outcome::kTaskDone) break;
      if (coord->round() != round || coord->attempt() != attempt) break;  // not in this window
      if (r.outcome != CheckInResult::Outcome::kAccepted) {
        devices[k].next_checkin = at + r.retry_after_s;
        continue;
      }
      Participation p;
      p.device = k;
      p.assignment = std::move(r.assignment);
      p.accepted_at = at;
      p.vanishes = u01(rng) < o.dropout;
      if (p.vanishes) {
        const int64_t steps = PlannedSteps(o.plan, devices[k].examples);
        p.vanish_step = static_cast<int64_t>(u01(rng) * static_cast<double>(steps));
      }
      cohort.push_back(std::move(p));
    }
    if (coord->phase() == Coordinator::Phase::kSelecting) {
      now = window_end;
      TERN_RETURN_IF_ERROR(coord->Advance(now));
    }
    if (coord->phase() == Coordinator::Phase::kReporting) {
      TERN_RETURN_IF_ERROR(PlayReporting(*coord, cohort, devices, trainers,
                                         o.seed * 7919 + static_cast<uint64_t>(round),
                                         &fates[{round, attempt}], &now));
      if (coord->phase() == Coordinator::Phase::kReporting) {
        TERN_RETURN_IF_ERROR(coord->Advance(coord->deadline()));
      }
      for (const Participation& p : cohort)
        if (p.vanishes) {
          // A vanished device comes back some time later, knowing nothing of the round.
          devices[p.device].next_checkin = p.assignment.deadline + u01(rng) * task.round.deadline_s;
        }
    }
    // Report every attempt the coordinator closed since the last pass.
    const auto& history = coord->history();
    for (; seen_history < history.size(); ++seen_history) {
      const RoundRecord& rec = history[seen_history];
      now = std::max(now, rec.closed_at);
      SimRound sr;
      sr.round = rec.round;
      sr.attempt = rec.attempt;
      sr.committed = rec.committed;
      sr.failure = rec.failure;
      sr.selected = rec.selected;
      sr.reports = rec.reports;
      sr.dropped = fates[{rec.round, rec.attempt}].first;
      sr.stragglers = fates[{rec.round, rec.attempt}].second;
      sr.examples = rec.examples;
      sr.train_loss = rec.mean_train_loss;
      sr.epsilon = rec.epsilon;
      const bool last =
          coord->phase() != Coordinator::Phase::kSelecting && seen_history + 1 == history.size();
      if (rec.committed && (rec.round % o.eval_every == 0 || last || rec.round == o.rounds)) {
        auto model = coord->model();
        TERN_ASSIGN_OR_RETURN(Evaluation ev,
                              evaluator->Evaluate(model->params, model->states, test_set));
        sr.accuracy = ev.accuracy;
        sr.loss = ev.loss;
        result.accuracy = ev.accuracy;
      }
      if (rec.committed) ++result.committed;
      result.epsilon = rec.epsilon >= 0 ? rec.epsilon : result.epsilon;
      sr.wall_seconds = WallSince(t_round);
      result.rounds.push_back(sr);
      if (on_round) on_round(sr);
    }
    now += 1.0;  // a short pause before the next selection window
  }
  result.clip_norm = coord->update_sum().clip_norm();
  result.end_reason = coord->end_reason();
  result.final_onnx = coord->model()->onnx;
  result.wall_seconds = WallSince(t_start);
  if (coord->phase() == Coordinator::Phase::kFailed)
    return Status(StatusCode::kFailedPrecondition, "federated task failed: " + result.end_reason);
  return result;
}

}  // namespace tern::fl
