// In-process federated simulation: the real Coordinator and FlClient code, driven by a virtual
// clock, with N clients holding non-IID shards of Fashion-MNIST (a Dirichlet(alpha) split over
// labels, Hsu et al. 2019). Devices check in at random moments of each selection window and are
// eligible with a given probability; a fraction of the selected clients vanishes mid-round
// (interrupted at a random step, never reporting), slow devices miss the deadline, and the
// coordinator's goal count makes late reports stragglers. The global model is evaluated on the
// test set after every committed round.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fl/task.h"
#include "fl/update_sum.h"

namespace tern::fl {

struct SimulationOptions {
  int clients = 100;
  int per_round = 20;  ///< the round's goal count
  int rounds = 50;
  double alpha = 0.5;         ///< Dirichlet concentration of the label split (small: non-IID)
  double dropout = 0.2;       ///< fraction of selected clients that vanish mid-round
  double stragglers = 0.1;    ///< fraction of devices that run 3-6 times slower than the rest
  double availability = 0.9;  ///< chance a device is idle, charging and unmetered at check-in
  double over_selection = 1.3;
  double min_report_fraction = 0.5;  ///< min_reports = ceil(fraction * per_round)
  Algorithm algorithm = Algorithm::kFedAvg;
  ClientPlan plan;
  ServerOptimizerConfig server;
  AggregationOptions aggregation;
  std::string data_dir;     ///< Fashion-MNIST idx folder; empty: Debian's
  int64_t train_limit = 0;  ///< use the first N training images (0: all 60,000)
  int64_t test_limit = 0;   ///< evaluate on the first N test images (0: all 10,000)
  std::string model_onnx;   ///< initial model bytes; empty: an MLP with `hidden` units
  int hidden = 128;
  int eval_every = 1;  ///< evaluate every this many rounds (and after the last)
  int threads = 1;     ///< clients trained in parallel
  uint64_t seed = 1;
};

/// One closed attempt of a round, as the simulation prints it.
struct SimRound {
  int64_t round = 0;
  int attempt = 1;
  bool committed = false;
  std::string failure;
  double accuracy = -1;  ///< test accuracy of the new global model (-1: not evaluated)
  double loss = -1;      ///< its test cross-entropy
  double train_loss = 0;
  int selected = 0, reports = 0, dropped = 0, stragglers = 0;
  int64_t examples = 0;
  double epsilon = -1;
  double wall_seconds = 0;  ///< real time the attempt took (training and evaluation)
};

struct SimulationResult {
  std::vector<SimRound> rounds;  ///< every attempt, committed or not
  int committed = 0;
  double accuracy = -1;  ///< of the final model
  double epsilon = -1;
  double noise_multiplier = 0;  ///< central DP's z (0: no DP)
  double clip_norm = 0;         ///< central DP's clip norm at the end (adaptive: where it went)
  double wall_seconds = 0;
  std::string end_reason;
  std::string final_onnx;  ///< the last committed model
};

/// Splits example indices among `clients` so that each class is divided by proportions drawn
/// from Dirichlet(alpha, ..., alpha); returns each client's indices (some may be empty).
std::vector<std::vector<int64_t>> DirichletSplit(const std::vector<int64_t>& labels, int classes,
                                                 int clients, double alpha, uint64_t seed);

Result<SimulationResult> RunSimulation(const SimulationOptions& options,
                                       const std::function<void(const SimRound&)>& on_round = {});

}  // namespace tern::fl
