#include "fl/client.h"

#include <algorithm>
#include <numeric>
#include <random>

namespace tern::fl {

namespace {

Status FailedPrecondition(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}

ExampleSet WholeSet(std::shared_ptr<const train::Dataset> data) {
  ExampleSet set;
  set.indices.resize(static_cast<size_t>(data->size()));
  std::iota(set.indices.begin(), set.indices.end(), 0);
  set.data = std::move(data);
  return set;
}

// Calls f(grad, offset) for each float32 gradient tensor, checking the flat size `total`.
template <typename F>
Status ForEachGrad(std::vector<Tensor>& grads, size_t total, F f) {
  size_t offset = 0;
  for (Tensor& g : grads) {
    if (g.dtype() != DataType::kFloat32) return InvalidArgument("gradients must be float32");
    offset += static_cast<size_t>(g.numel());
  }
  if (offset != total)
    return InvalidArgument("gradients hold " + std::to_string(offset) + " values, expected " +
                           std::to_string(total));
  offset = 0;
  for (size_t k = 0; k < grads.size(); ++k) {
    f(k, grads[k].data<float>(), static_cast<size_t>(grads[k].numel()), offset);
    offset += static_cast<size_t>(grads[k].numel());
  }
  return Status::Ok();
}

// Clears the trainer's gradient hook when a round ends, however it ends.
struct HookReset {
  train::Trainer& t;
  ~HookReset() { t.set_gradient_hook(nullptr); }
};

}  // namespace

StepGuard DeviceGuard(double deadline, std::function<double()> clock,
                      std::function<DeviceState()> state, EligibilityRules rules) {
  // Local data does not shrink during a round, so the example count is not re-checked.
  rules.min_examples = 0;
  return [=](int64_t) -> Status {
    if (clock && clock() > deadline) return FailedPrecondition("deadline passed");
    if (state) {
      const std::string why = IneligibleReason(rules, state());
      if (!why.empty()) return FailedPrecondition("no longer eligible: " + why);
    }
    return Status::Ok();
  };
}

Result<ExampleSet> FolderDataSource::Open() {
  if (!cached_) {
    TERN_ASSIGN_OR_RETURN(train::Dataset d, train::LoadExampleFolders(dir_));
    cached_ = std::make_shared<const train::Dataset>(std::move(d));
  }
  return WholeSet(cached_);
}

Result<int64_t> FolderDataSource::Count() {
  TERN_ASSIGN_OR_RETURN(ExampleSet set, Open());
  return static_cast<int64_t>(set.indices.size());
}

Result<ExampleSet> CallbackDataSource::Open() {
  if (!fetch_) return InvalidArgument("no data callback");
  TERN_ASSIGN_OR_RETURN(train::Dataset d, fetch_());
  return WholeSet(std::make_shared<const train::Dataset>(std::move(d)));
}

Result<int64_t> CallbackDataSource::Count() {
  TERN_ASSIGN_OR_RETURN(ExampleSet set, Open());
  return static_cast<int64_t>(set.indices.size());
}

Status AddProximalTerm(const std::vector<Tensor>& params, const std::vector<float>& global,
                       float mu, std::vector<Tensor>& grads) {
  if (params.size() != grads.size()) return InvalidArgument("params and gradients differ");
  return ForEachGrad(grads, global.size(), [&](size_t k, float* g, size_t n, size_t off) {
    const float* w = params[k].data<float>();
    for (size_t i = 0; i < n; ++i) g[i] += mu * (w[i] - global[off + i]);
  });
}

Status AddCorrection(const std::vector<float>& correction, std::vector<Tensor>& grads) {
  return ForEachGrad(grads, correction.size(), [&](size_t, float* g, size_t n, size_t off) {
    for (size_t i = 0; i < n; ++i) g[i] += correction[off + i];
  });
}

Result<ClientUpdate> FlClient::Train(const Assignment& a, LocalTrainer& lt, const StepGuard& guard,
                                     uint64_t seed) {
  staged_.reset();
  if (!a.model) return InvalidArgument("the assignment carries no model");
  const GlobalModel& global = *a.model;
  const ClientPlan& plan = a.plan;
  if (global.params.size() != lt.params().size || global.states.size() != lt.states().size)
    return InvalidArgument("the assigned model does not match the local trainer's architecture");
  TERN_ASSIGN_OR_RETURN(ExampleSet set, data_->Open());
  if (!set.data || set.indices.empty()) return FailedPrecondition("no local examples");

  const bool scaffold = a.algorithm == Algorithm::kScaffold;
  std::vector<float> correction;
  if (scaffold) {
    if (!a.server_control || a.server_control->size() != global.params.size())
      return InvalidArgument("SCAFFOLD assignment without a matching server control variate");
    if (control_.empty()) control_.assign(global.params.size(), 0.0f);
    correction.resize(control_.size());
    for (size_t i = 0; i < correction.size(); ++i)
      correction[i] = (*a.server_control)[i] - control_[i];
  }

  train::OptimizerConfig oc;
  oc.kind = train::OptimizerConfig::Kind::kSgd;
  oc.learning_rate = plan.learning_rate;
  oc.momentum = plan.momentum;
  TERN_RETURN_IF_ERROR(lt.Load(global.params, global.states, oc));
  train::Trainer& trainer = lt.trainer();
  HookReset reset{trainer};
  const float mu = plan.prox_mu;
  if (mu > 0 || scaffold) {
    trainer.set_gradient_hook([&](const std::vector<Tensor>& p, std::vector<Tensor>& g) {
      if (mu > 0) TERN_RETURN_IF_ERROR(AddProximalTerm(p, global.params, mu, g));
      if (scaffold) TERN_RETURN_IF_ERROR(AddCorrection(correction, g));
      return Status::Ok();
    });
  }

  TERN_ASSIGN_OR_RETURN(train::Batcher batcher, train::Batcher::Create(*set.data, plan.batch));
  std::vector<int64_t> order = set.indices;
  std::mt19937_64 rng(seed);
  const int64_t n = static_cast<int64_t>(order.size());
  int64_t steps = 0;
  double loss_sum = 0;
  Tensor x, y;
  for (int e = 0; e < plan.epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t i = 0; i < n; i += plan.batch) {
      if (plan.max_steps > 0 && steps >= plan.max_steps) break;
      if (guard) TERN_RETURN_IF_ERROR(guard(steps));
      TERN_RETURN_IF_ERROR(batcher.Fill(*set.data, order, i, std::min(plan.batch, n - i), &x, &y));
      auto loss = trainer.Step(x, y);
      if (!loss.ok())
        return loss.status().WithContext("client " + id_ + " step " + std::to_string(steps + 1));
      loss_sum += loss.value();
      ++steps;
    }
  }

  ClientUpdate u;
  std::vector<float> trained;
  TERN_RETURN_IF_ERROR(lt.Read(&trained, &u.states));
  u.delta.resize(trained.size());
  for (size_t i = 0; i < trained.size(); ++i) u.delta[i] = trained[i] - global.params[i];
  if (scaffold) {
    // Option II of Karimireddy et al.: c_i+ = c_i - c + (x - y) / (K lr), from the unclipped
    // local change, so the staged variate is what the client's own steps imply.
    const double inv = 1.0 / (static_cast<double>(steps) * plan.learning_rate);
    auto st = std::make_unique<Staged>(Staged{a.round, a.attempt, control_});
    u.control_delta.resize(control_.size());
    for (size_t i = 0; i < control_.size(); ++i) {
      const double next = static_cast<double>(control_[i]) - (*a.server_control)[i] -
                          static_cast<double>(u.delta[i]) * inv;
      st->control[i] = static_cast<float>(next);
      u.control_delta[i] = static_cast<float>(next - control_[i]);
    }
    staged_ = std::move(st);
  }
  u.unclipped_norm = ClipToNorm(u.delta, plan.clip_norm);
  u.examples = n;
  u.steps = steps;
  u.train_loss = steps > 0 ? loss_sum / static_cast<double>(steps) : 0;
  return u;
}

void FlClient::Commit(int64_t round, int attempt) {
  if (staged_ && staged_->round == round && staged_->attempt == attempt)
    control_ = std::move(staged_->control);
  staged_.reset();
}

}  // namespace tern::fl
