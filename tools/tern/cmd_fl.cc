// tern fl simulate: runs the federated coordinator and clients in-process on Fashion-MNIST.
#include <cmath>
#include <cstdio>
#include <fstream>

#include "commands.h"
#include "fl/simulation.h"
#include "onnx/onnx_import.h"

namespace tern::cli {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "tern fl simulate: %s\n", s.ToString().c_str());
  return 1;
}

std::string Epsilon(double e) {
  if (e < 0) return "inf";  // no differential privacy: no bound
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", e);
  return buf;
}

}  // namespace

int RunFlSimulate(const FlSimulateOptions& o) {
  fl::SimulationOptions so;
  so.clients = o.clients;
  so.per_round = o.per_round;
  so.rounds = o.rounds;
  so.alpha = o.alpha;
  so.dropout = o.dropout;
  so.stragglers = o.stragglers;
  so.over_selection = o.over_selection;
  auto algorithm = fl::ParseAlgorithm(o.algorithm);
  if (!algorithm.ok()) return Fail(algorithm.status());
  so.algorithm = algorithm.value();
  so.plan.epochs = o.epochs;
  so.plan.batch = o.batch;
  so.plan.learning_rate = o.lr;
  so.plan.momentum = o.momentum;
  so.plan.prox_mu = so.algorithm == fl::Algorithm::kFedProx ? o.mu : 0.0f;
  so.plan.clip_norm = o.clip;
  const bool adaptive =
      so.algorithm == fl::Algorithm::kFedAdam || so.algorithm == fl::Algorithm::kFedYogi;
  so.server.learning_rate = o.server_lr > 0 ? o.server_lr : (adaptive ? 0.01 : 1.0);
  so.server.momentum = o.server_momentum;
  using Secure = fl::AggregationOptions::Secure;
  so.aggregation.secure =
      o.secagg ? Secure::kSecAgg : (o.secagg_plus ? Secure::kSecAggPlus : Secure::kNone);
  so.aggregation.dp_epsilon = o.dp_epsilon;
  so.aggregation.dp_delta = o.dp_delta;
  so.aggregation.dp_noise_multiplier = o.dp_noise;
  so.aggregation.dp_target_quantile = o.dp_quantile;
  so.aggregation.dp_clip_learning_rate = o.dp_clip_lr;
  so.hidden = o.hidden;
  so.data_dir = o.data_dir;
  so.train_limit = o.train_limit;
  so.test_limit = o.test_limit;
  so.threads = o.threads;
  so.eval_every = o.eval_every;
  so.seed = o.seed;
  if (!o.model.empty()) {
    auto bytes = onnx::ReadFile(o.model, uint64_t{1} << 30);
    if (!bytes.ok()) return Fail(bytes.status());
    so.model_onnx = std::move(bytes).value();
  }
  std::FILE* csv = nullptr;
  if (!o.csv.empty()) {
    csv = std::fopen(o.csv.c_str(), "w");
    if (!csv) return Fail(IoError("cannot write '" + o.csv + "'"));
    std::fprintf(csv,
                 "round,attempt,committed,accuracy,loss,train_loss,reports,selected,dropped,"
                 "stragglers,examples,epsilon,wall_seconds\n");
  }
  std::printf("fl simulate: %d clients, %d per round, %d rounds, alpha %g, dropout %g, %s\n",
              o.clients, o.per_round, o.rounds, o.alpha, o.dropout, o.algorithm.c_str());
  std::fflush(stdout);
  auto result = fl::RunSimulation(so, [&](const fl::SimRound& r) {
    if (r.committed) {
      std::printf(
          "round %lld: accuracy %.4f loss %.4f reports %d/%d dropped %d stragglers %d "
          "epsilon %s (%.1f s)\n",
          static_cast<long long>(r.round), r.accuracy, r.loss, r.reports, r.selected, r.dropped,
          r.stragglers, Epsilon(r.epsilon).c_str(), r.wall_seconds);
    } else {
      std::printf("round %lld attempt %d failed: %s (reports %d/%d)\n",
                  static_cast<long long>(r.round), r.attempt, r.failure.c_str(), r.reports,
                  r.selected);
    }
    std::fflush(stdout);
    if (csv)
      std::fprintf(csv, "%lld,%d,%d,%.6f,%.6f,%.6f,%d,%d,%d,%d,%lld,%s,%.3f\n",
                   static_cast<long long>(r.round), r.attempt, r.committed ? 1 : 0, r.accuracy,
                   r.loss, r.train_loss, r.reports, r.selected, r.dropped, r.stragglers,
                   static_cast<long long>(r.examples), Epsilon(r.epsilon).c_str(), r.wall_seconds);
  });
  if (csv) std::fclose(csv);
  if (!result.ok()) return Fail(result.status());
  const fl::SimulationResult& res = result.value();
  if (!o.out.empty()) {
    std::ofstream f(o.out, std::ios::binary | std::ios::trunc);
    f.write(res.final_onnx.data(), static_cast<std::streamsize>(res.final_onnx.size()));
    if (!f) return Fail(IoError("cannot write '" + o.out + "'"));
  }
  if (res.noise_multiplier > 0)
    std::printf("dp: noise multiplier %.4f, q %.4g, clip norm %.4g at the end, %s\n",
                res.noise_multiplier, static_cast<double>(o.per_round) / o.clients, res.clip_norm,
                res.end_reason.c_str());
  std::printf("final: rounds=%d accuracy=%.4f epsilon=%s\n", res.committed, res.accuracy,
              Epsilon(res.epsilon).c_str());
  std::printf("wall time %.1f s\n", res.wall_seconds);
  return 0;
}

}  // namespace tern::cli
