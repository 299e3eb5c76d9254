#include "fl/local_trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "onnx/onnx_import.h"

namespace tern::fl {

namespace {

// The trainer's snapshot lists the trained parameters first, then the running statistics.
void SplitSnapshot(const train::Trainer& t, NamedTensors* params, NamedTensors* states) {
  NamedTensors all = t.Snapshot();
  const size_t n = t.training_graph().params.size();
  params->assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
  states->assign(all.begin() + static_cast<std::ptrdiff_t>(n), all.end());
}

}  // namespace

Result<std::unique_ptr<LocalTrainer>> LocalTrainer::Create(const std::string& onnx_bytes) {
  onnx::ImportOptions io;
  TERN_ASSIGN_OR_RETURN(ir::Model model,
                        onnx::ImportModel(onnx_bytes.data(), onnx_bytes.size(), io));
  train::TrainerOptions to;
  to.graph.loss = train::LossKind::kSoftmaxCrossEntropy;
  std::unique_ptr<LocalTrainer> lt(new LocalTrainer());
  TERN_ASSIGN_OR_RETURN(lt->trainer_, train::Trainer::Create(std::move(model), to));
  NamedTensors params, states;
  SplitSnapshot(*lt->trainer_, &params, &states);
  TERN_ASSIGN_OR_RETURN(lt->params_, ParamLayout::Of(params));
  TERN_ASSIGN_OR_RETURN(lt->states_, ParamLayout::Of(states));
  TERN_ASSIGN_OR_RETURN(lt->initial_params_, lt->params_.Flatten(params));
  TERN_ASSIGN_OR_RETURN(lt->initial_states_, lt->states_.Flatten(states));
  return lt;
}

Status LocalTrainer::Load(const std::vector<float>& params, const std::vector<float>& states,
                          const train::OptimizerConfig& optimizer) {
  TERN_ASSIGN_OR_RETURN(NamedTensors p, params_.Unflatten(params));
  TERN_ASSIGN_OR_RETURN(NamedTensors s, states_.Unflatten(states));
  p.insert(p.end(), s.begin(), s.end());
  TERN_RETURN_IF_ERROR(trainer_->SetValues(p));
  return trainer_->ResetOptimizer(optimizer);
}

Status LocalTrainer::Read(std::vector<float>* params, std::vector<float>* states) const {
  NamedTensors p, s;
  SplitSnapshot(*trainer_, &p, &s);
  TERN_ASSIGN_OR_RETURN(*params, params_.Flatten(p));
  TERN_ASSIGN_OR_RETURN(*states, states_.Flatten(s));
  return Status::Ok();
}

Result<Evaluation> LocalTrainer::Evaluate(const std::vector<float>& params,
                                          const std::vector<float>& states,
                                          const train::Dataset& data, int64_t batch) {
  if (data.size() == 0) return InvalidArgument("no examples to evaluate on");
  if (data.labels.dtype() != DataType::kInt64 || data.labels.numel() != data.size())
    return InvalidArgument("evaluation needs int64 class labels [N]");
  TERN_RETURN_IF_ERROR(Load(params, states, train::OptimizerConfig()));
  TERN_ASSIGN_OR_RETURN(train::Batcher batcher, train::Batcher::Create(data, batch));
  std::vector<int64_t> order(static_cast<size_t>(data.size()));
  std::iota(order.begin(), order.end(), 0);
  Evaluation ev;
  double loss_sum = 0;
  int64_t correct = 0;
  Tensor x, y;
  for (int64_t i = 0; i < data.size(); i += batch) {
    const int64_t n = std::min(batch, data.size() - i);
    TERN_RETURN_IF_ERROR(batcher.Fill(data, order, i, n, &x, &y));
    TERN_ASSIGN_OR_RETURN(Tensor logits, trainer_->Predict(x));
    if (logits.rank() != 2 || logits.dim(0) != n || logits.dtype() != DataType::kFloat32)
      return InvalidArgument("evaluation needs float32 logits [N, classes], got " +
                             logits.shape().ToString());
    const int64_t classes = logits.dim(1);
    for (int64_t r = 0; r < n; ++r) {
      const float* row = logits.data<float>() + r * classes;
      const int64_t label = y.data<int64_t>()[r];
      if (label < 0 || label >= classes) return InvalidArgument("label out of range");
      const int64_t best = std::max_element(row, row + classes) - row;
      if (best == label) ++correct;
      // Cross-entropy from logits with the max subtracted, so exp never overflows.
      const float top = row[best];
      double z = 0;
      for (int64_t c = 0; c < classes; ++c) z += std::exp(static_cast<double>(row[c] - top));
      loss_sum += std::log(z) - static_cast<double>(row[label] - top);
    }
  }
  ev.examples = data.size();
  ev.accuracy = static_cast<double>(correct) / static_cast<double>(data.size());
  ev.loss = loss_sum / static_cast<double>(data.size());
  return ev;
}

}  // namespace tern::fl
