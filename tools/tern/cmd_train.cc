// tern train: trains a model's initializers on examples and writes the updated model.
#include <chrono>
#include <cstdio>
#include <fstream>

#include "commands.h"
#include "onnx/initializer_update.h"
#include "onnx/onnx_import.h"
#include "train/fit.h"

namespace tern::cli {

namespace {

int Fail(const Status& s) {
  std::fprintf(stderr, "tern train: %s\n", s.ToString().c_str());
  return 1;
}

std::vector<std::string> SplitNames(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace

int RunTrain(const TrainOptions& o) {
  train::Dataset data, test;
  bool have_test = false;
  if (!o.fashion_mnist.empty()) {
    auto d = train::LoadIdxDataset(o.fashion_mnist, "train", o.limit);
    if (!d.ok()) return Fail(d.status());
    data = std::move(d).value();
    auto t = train::LoadIdxDataset(o.fashion_mnist, "t10k", o.test_limit);
    if (!t.ok()) return Fail(t.status());
    test = std::move(t).value();
    have_test = true;
  } else {
    auto d = train::LoadExampleFolders(o.data_dir);
    if (!d.ok()) return Fail(d.status());
    data = std::move(d).value();
    if (!o.test_dir.empty()) {
      auto t = train::LoadExampleFolders(o.test_dir);
      if (!t.ok()) return Fail(t.status());
      test = std::move(t).value();
      have_test = true;
    }
  }
  auto model = onnx::ImportModelFile(o.model, uint64_t{2} << 30);
  if (!model.ok()) return Fail(model.status());
  train::TrainerOptions to;
  if (o.trainable != "all") to.graph.trainable = SplitNames(o.trainable);
  to.graph.loss =
      o.loss == "mse" ? train::LossKind::kMeanSquaredError : train::LossKind::kSoftmaxCrossEntropy;
  to.graph.batch_norm_training = !o.frozen_bn;
  to.optimizer.kind = o.optimizer == "adam" ? train::OptimizerConfig::Kind::kAdam
                                            : train::OptimizerConfig::Kind::kSgd;
  to.optimizer.learning_rate = o.lr;
  to.optimizer.momentum = o.optimizer == "sgd" ? o.momentum : 0.0f;
  to.optimizer.weight_decay = o.weight_decay;
  auto trainer = train::Trainer::Create(std::move(model).value(), to);
  if (!trainer.ok()) return Fail(trainer.status().WithContext(o.model));
  train::Trainer& t = *trainer.value();
  std::printf("training %zu parameter tensors on %lld examples (%s, lr %g, batch %lld)\n",
              t.training_graph().params.size(), static_cast<long long>(data.size()),
              o.optimizer.c_str(), o.lr, static_cast<long long>(o.batch));
  train::FitOptions fo;
  fo.epochs = o.epochs;
  fo.batch = o.batch;
  fo.seed = o.seed;
  fo.progress_every = 200;
  fo.on_progress = [](int e, int64_t step, double loss) {
    std::printf("  epoch %d step %lld loss %.4f\n", e, static_cast<long long>(step), loss);
    std::fflush(stdout);
  };
  auto reports =
      train::Fit(t, data, have_test ? &test : nullptr, fo, [](const train::EpochReport& r) {
        std::printf("epoch %d: loss %.4f, %.1f s", r.epoch, r.mean_loss, r.seconds);
        if (r.test_accuracy >= 0) std::printf(", test accuracy %.4f", r.test_accuracy);
        std::printf("\n");
        std::fflush(stdout);
      });
  if (!reports.ok()) return Fail(reports.status());
  std::printf("training arena: %llu bytes\n",
              static_cast<unsigned long long>(t.training_arena_bytes()));
  Status s = onnx::UpdateInitializersFile(o.model, o.out, t.Snapshot());
  if (!s.ok()) return Fail(s);
  std::printf("wrote %s\n", o.out.c_str());
  return 0;
}

int RunMakeModel(const std::string& kind, const std::string& out, uint64_t seed) {
  if (kind != "small-cnn" && kind != "mlp")
    return Fail(InvalidArgument("unknown model kind '" + kind + "'"));
  const std::string bytes =
      kind == "mlp" ? onnx::BuildImageMlp(seed) : onnx::BuildSmallImageCnn(seed);
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  f.close();
  if (!f) return Fail(IoError("cannot write '" + out + "'"));
  std::printf("wrote %s (%zu bytes)\n", out.c_str(), bytes.size());
  return 0;
}

}  // namespace tern::cli
