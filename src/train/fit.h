// The epoch loop shared by `tern train` and (later) the federated-learning client: shuffles,
// batches, steps the trainer, and evaluates on a held-out set after each epoch.
#pragma once

#include <functional>

#include "train/dataset.h"
#include "train/trainer.h"

namespace tern::train {

struct FitOptions {
  int epochs = 1;
  int64_t batch = 32;
  uint64_t seed = 1;  ///< shuffling
  /// Called every `progress_every` steps with (epoch, step, running mean loss); 0: never.
  int64_t progress_every = 0;
  std::function<void(int, int64_t, double)> on_progress;
};

struct EpochReport {
  int epoch = 0;
  double mean_loss = 0;       ///< over the epoch's batches, before each update
  double seconds = 0;         ///< training time of the epoch
  double test_accuracy = -1;  ///< argmax accuracy on the test set (-1 when not measured)
};

/// Trains for options.epochs; `test` (may be null) is evaluated with Accuracy after each epoch
/// when its labels are class indices. `on_epoch` (may be empty) sees each report as it is made.
Result<std::vector<EpochReport>> Fit(Trainer& trainer, const Dataset& train, const Dataset* test,
                                     const FitOptions& options,
                                     const std::function<void(const EpochReport&)>& on_epoch = {});

/// Fraction of examples whose argmax over dim 1 of the prediction equals the int64 label.
Result<double> Accuracy(Trainer& trainer, const Dataset& data, int64_t batch);

}  // namespace tern::train
