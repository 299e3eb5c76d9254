#include "train/fit.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

namespace tern::train {

Result<std::vector<EpochReport>> Fit(Trainer& trainer, const Dataset& train, const Dataset* test,
                                     const FitOptions& opt,
                                     const std::function<void(const EpochReport&)>& on_epoch) {
  if (train.size() == 0) return InvalidArgument("no training examples");
  if (opt.epochs <= 0) return InvalidArgument("epochs must be positive");
  TERN_ASSIGN_OR_RETURN(Batcher batcher, Batcher::Create(train, opt.batch));
  std::vector<int64_t> order(static_cast<size_t>(train.size()));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(opt.seed);
  std::vector<EpochReport> reports;
  Tensor x, y;
  for (int e = 1; e <= opt.epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    const auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t steps = 0;
    for (int64_t i = 0; i < train.size(); i += opt.batch) {
      const int64_t n = std::min(opt.batch, train.size() - i);
      TERN_RETURN_IF_ERROR(batcher.Fill(train, order, i, n, &x, &y));
      auto loss = trainer.Step(x, y);
      if (!loss.ok())
        return loss.status().WithContext("epoch " + std::to_string(e) + " step " +
                                         std::to_string(steps + 1));
      loss_sum += loss.value();
      ++steps;
      if (opt.progress_every > 0 && opt.on_progress && steps % opt.progress_every == 0)
        opt.on_progress(e, steps, loss_sum / static_cast<double>(steps));
    }
    EpochReport r;
    r.epoch = e;
    r.mean_loss = loss_sum / static_cast<double>(steps);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (test && test->size() > 0 && test->labels.dtype() == DataType::kInt64) {
      TERN_ASSIGN_OR_RETURN(r.test_accuracy,
                            Accuracy(trainer, *test, std::max<int64_t>(opt.batch, 256)));
    }
    if (on_epoch) on_epoch(r);
    reports.push_back(r);
  }
  return reports;
}

Result<double> Accuracy(Trainer& trainer, const Dataset& data, int64_t batch) {
  if (data.size() == 0) return InvalidArgument("no examples");
  if (data.labels.dtype() != DataType::kInt64 || data.labels.numel() != data.size())
    return InvalidArgument("accuracy needs int64 class labels [N]");
  TERN_ASSIGN_OR_RETURN(Batcher batcher, Batcher::Create(data, batch));
  std::vector<int64_t> order(static_cast<size_t>(data.size()));
  std::iota(order.begin(), order.end(), 0);
  int64_t correct = 0;
  Tensor x, y;
  for (int64_t i = 0; i < data.size(); i += batch) {
    const int64_t n = std::min(batch, data.size() - i);
    TERN_RETURN_IF_ERROR(batcher.Fill(data, order, i, n, &x, &y));
    TERN_ASSIGN_OR_RETURN(Tensor pred, trainer.Predict(x));
    if (pred.rank() != 2 || pred.dim(0) != n || pred.dtype() != DataType::kFloat32)
      return InvalidArgument("accuracy needs float32 scores [N, classes], got " +
                             pred.shape().ToString());
    const int64_t classes = pred.dim(1);
    for (int64_t r = 0; r < n; ++r) {
      const float* row = pred.data<float>() + r * classes;
      const int64_t best = std::max_element(row, row + classes) - row;
      if (best == y.data<int64_t>()[r]) ++correct;
    }
  }
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

}  // namespace tern::train
