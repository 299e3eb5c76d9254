#include "train/trainer.h"

#include <algorithm>
#include <cstring>

#include "core/thread_pool.h"
#include "exec/executor.h"

namespace tern::train {

Trainer::~Trainer() = default;

namespace {

Result<Tensor> CloneInitializer(const ir::Graph& g, const std::string& name) {
  const int v = g.FindValue(name);
  if (v < 0 || !g.values[v].initializer.defined())
    return InvalidArgument("'" + name + "' is not an initializer of the model");
  return g.values[v].initializer.Clone();
}

}  // namespace

Result<std::unique_ptr<Trainer>> Trainer::Create(ir::Model model, const TrainerOptions& options) {
  if (!model.graph) return InvalidArgument("no model graph");
  std::unique_ptr<Trainer> t(new Trainer());
  t->model_ = std::move(model);
  const ir::Graph& fwd = *t->model_.graph;
  TERN_ASSIGN_OR_RETURN(t->tg_, BuildTrainingGraph(fwd, options.graph));
  for (const auto& name : t->tg_.params) {
    TERN_ASSIGN_OR_RETURN(Tensor p, CloneInitializer(fwd, name));
    t->params_.push_back(std::move(p));
  }
  for (const auto& name : t->tg_.states) {
    TERN_ASSIGN_OR_RETURN(Tensor s, CloneInitializer(fwd, name));
    t->states_.push_back(std::move(s));
  }
  std::vector<std::string> held = t->tg_.params;
  held.insert(held.end(), t->tg_.states.begin(), t->tg_.states.end());
  std::vector<size_t> positions;
  TERN_ASSIGN_OR_RETURN(t->infer_graph_, PromoteToInputs(fwd, held, &positions));
  t->infer_param_inputs_.assign(positions.begin(), positions.begin() + t->params_.size());
  t->infer_state_inputs_.assign(positions.begin() + t->params_.size(), positions.end());
  const std::vector<int> required = fwd.RequiredInputs();
  t->infer_data_input_ = static_cast<size_t>(
      std::find(fwd.inputs.begin(), fwd.inputs.end(), required[0]) - fwd.inputs.begin());

  t->pool_ = std::make_unique<ThreadPool>(1);
  ExecConfig config;
  TERN_ASSIGN_OR_RETURN(auto ref, MakeProvider("ref"));
  config.providers = {ref};
  config.pool = t->pool_.get();
  TERN_ASSIGN_OR_RETURN(t->train_exec_, Executor::Create(*t->tg_.graph, config));
  TERN_ASSIGN_OR_RETURN(t->infer_exec_, Executor::Create(*t->infer_graph_, config));
  TERN_ASSIGN_OR_RETURN(t->optimizer_, Optimizer::Create(options.optimizer, t->params_));
  for (const Tensor& p : t->params_) t->param_values_.emplace_back(p);
  for (const Tensor& s : t->states_) t->state_values_.emplace_back(s);
  t->grads_.resize(t->params_.size());
  return t;
}

Result<double> Trainer::Step(const Tensor& data, const Tensor& label) {
  feeds_.assign(tg_.graph->inputs.size(), nullptr);
  Value data_v(data), label_v(label);
  feeds_[tg_.data_input] = &data_v;
  if (tg_.label_input != tg_.data_input) feeds_[tg_.label_input] = &label_v;
  for (size_t i = 0; i < params_.size(); ++i) feeds_[tg_.param_inputs[i]] = &param_values_[i];
  for (size_t i = 0; i < states_.size(); ++i) feeds_[tg_.state_inputs[i]] = &state_values_[i];
  TERN_RETURN_IF_ERROR(train_exec_->Run(feeds_, {}, &outputs_));
  const Tensor& loss = outputs_[tg_.loss_output].tensor;
  if (loss.numel() != 1) return Internal("the loss is not a scalar: " + loss.shape().ToString());
  const double value =
      loss.dtype() == DataType::kFloat64 ? loss.data<double>()[0] : loss.data<float>()[0];
  for (size_t i = 0; i < params_.size(); ++i) grads_[i] = outputs_[tg_.grad_outputs[i]].tensor;
  if (gradient_hook_) TERN_RETURN_IF_ERROR(gradient_hook_(params_, grads_));
  TERN_RETURN_IF_ERROR(optimizer_->Step(params_, grads_));
  for (size_t i = 0; i < states_.size(); ++i) {
    const Tensor& s = outputs_[tg_.state_outputs[i]].tensor;
    if (s.nbytes() != states_[i].nbytes() || s.dtype() != states_[i].dtype())
      return Internal("running statistic '" + tg_.states[i] + "' changed shape");
    std::memcpy(states_[i].raw(), s.raw(), s.nbytes());
  }
  return value;
}

Result<Tensor> Trainer::Predict(const Tensor& data) {
  std::vector<const Value*> feeds(infer_graph_->inputs.size(), nullptr);
  Value data_v(data);
  feeds[infer_data_input_] = &data_v;
  for (size_t i = 0; i < params_.size(); ++i) feeds[infer_param_inputs_[i]] = &param_values_[i];
  for (size_t i = 0; i < states_.size(); ++i) feeds[infer_state_inputs_[i]] = &state_values_[i];
  std::vector<Value> out;
  TERN_RETURN_IF_ERROR(infer_exec_->Run(feeds, {}, &out));
  return out[0].tensor;
}

Status Trainer::SetValues(const std::vector<std::pair<std::string, Tensor>>& values) {
  for (const auto& [name, t] : values) {
    Tensor* dst = nullptr;
    for (size_t i = 0; i < params_.size() && !dst; ++i)
      if (tg_.params[i] == name) dst = &params_[i];
    for (size_t i = 0; i < states_.size() && !dst; ++i)
      if (tg_.states[i] == name) dst = &states_[i];
    if (!dst) return InvalidArgument("'" + name + "' is not trained by this trainer");
    if (t.dtype() != dst->dtype() || t.shape() != dst->shape())
      return InvalidArgument("'" + name + "': value " + t.shape().ToString() +
                             " does not match the parameter " + dst->shape().ToString());
    std::memcpy(dst->raw(), t.raw(), t.nbytes());
  }
  return Status::Ok();
}

Status Trainer::ResetOptimizer(const OptimizerConfig& config) {
  TERN_ASSIGN_OR_RETURN(optimizer_, Optimizer::Create(config, params_));
  return Status::Ok();
}

std::vector<std::pair<std::string, Tensor>> Trainer::Snapshot() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) out.emplace_back(tg_.params[i], params_[i]);
  for (size_t i = 0; i < states_.size(); ++i) out.emplace_back(tg_.states[i], states_[i]);
  return out;
}

uint64_t Trainer::training_arena_bytes() const { return train_exec_->peak_arena_bytes(); }

}  // namespace tern::train
