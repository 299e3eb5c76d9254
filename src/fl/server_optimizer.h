// The server side of the algorithms: turns a round's sums into the next global model.
//
// Every algorithm starts from the example-weighted mean update
//   d = sum_k w_k delta_k / sum_k w_k
// (FedAvg), which the server treats as a pseudo-gradient (Reddi et al. 2021, "Adaptive
// Federated Optimization"):
//   FedAvg, FedProx:  x += eta * d                  (eta = 1 is plain FedAvg)
//                     with server momentum mu > 0: m = mu m + d; x += eta m  (FedAvgM)
//   FedAdam:          m = b1 m + (1-b1) d;  v = b2 v + (1-b2) d^2;          x += eta m /
//   (sqrt(v)+tau) FedYogi:          m as Adam;            v = v - (1-b2) d^2 sign(v - d^2); x +=
//   eta m / (sqrt(v)+tau) SCAFFOLD:         x += eta * d;  c += (1/N) sum_k dc_k   (= |S|/N times
//   the mean dc_k)
// with v starting at tau^2 and no bias correction, as in the paper. Running statistics
// (BatchNormalization) are not trained: they become the weighted mean of the clients' values.
#pragma once

#include <vector>

#include "fl/task.h"
#include "fl/update_sum.h"

namespace tern::fl {

class ServerOptimizer {
 public:
  /// For `params` trainable values; `population` is SCAFFOLD's N.
  static Result<ServerOptimizer> Create(Algorithm algorithm, const ServerOptimizerConfig& config,
                                        size_t params, int64_t population);
  /// Applies one round's totals to the global parameters and running statistics in place.
  Status Apply(const UpdateTotals& totals, std::vector<float>& params, std::vector<float>& states);
  /// SCAFFOLD's server control variate c (empty for the other algorithms).
  const std::vector<float>& control() const { return control_; }
  /// FedAdam/FedYogi moments, FedAvgM's momentum as m (empty otherwise); for tests and
  /// checkpoints.
  const std::vector<double>& first_moment() const { return m_; }
  const std::vector<double>& second_moment() const { return v_; }

 private:
  Algorithm algorithm_ = Algorithm::kFedAvg;
  ServerOptimizerConfig config_;
  int64_t population_ = 1;
  std::vector<double> m_, v_;
  std::vector<float> control_;
};

}  // namespace tern::fl
