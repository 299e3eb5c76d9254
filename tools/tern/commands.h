// Subcommands of the `tern` CLI; each returns the process exit code.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tern/session.h"

namespace tern::compress {
struct CompressReport;
}

namespace tern::cli {

struct CommonOptions {
  int threads = 0;
  std::vector<std::string> providers;
  bool strict = false;
  int opt_level = 1;
  std::vector<std::string> disabled_passes;
  SessionOptions ToSessionOptions() const;
};

struct TestOptions {
  std::vector<std::string> paths;
  std::string skip_file;
  std::string models_dir;  ///< where `model.txt` cases find their model
  std::string filter;      ///< run only cases whose name contains this
  double atol = 1e-5;
  double rtol = 1e-3;
  bool verbose = false;
  bool roundtrip = false;  ///< export each model and run the re-imported copy
  CommonOptions common;
};
int RunTest(const TestOptions& o);

struct RunOptions {
  std::string model;
  std::vector<std::string> inputs;  ///< NAME=FILE.pb
  std::string input_dir;
  std::string output_dir;
  int repeat = 1;
  CommonOptions common;
};
int RunRun(const RunOptions& o);

struct InspectOptions {
  std::string model;
  bool values = false;  ///< print the inferred type of every value
  CommonOptions common;
};
int RunInspect(const InspectOptions& o);

struct BenchOptions {
  std::string model;
  std::string input_dir;
  std::map<std::string, std::vector<int64_t>> shapes;  ///< --shape NAME=1,3,640,640
  int runs = 100;
  int warmup = 10;
  bool json = false;
  std::string profile;  ///< Chrome trace output
  CommonOptions common;
};
int RunBench(const BenchOptions& o);

struct QuantizeCliOptions {
  std::string input, output, mode;
  std::string calibration_dir, eval_dir;
  std::string method = "minmax";
  double percentile = 99.999;
  std::string activation_type = "uint8";
  bool per_channel = false;
  int64_t block_size = 32;  ///< int4-weights
  bool asymmetric = false;  ///< int4-weights: zero point per block
  std::vector<std::string> exclude_ops, exclude_nodes;
  bool report = false;
  std::string report_json;
  CommonOptions common;
};
int RunQuantize(const QuantizeCliOptions& o);

struct PruneCliOptions {
  std::string input, output;
  double sparsity = 0.5;
  bool structured = false;
  std::vector<std::string> exclude_nodes;
  std::string eval_dir;  ///< inputs for the report's error and latency figures
  bool report = false;
  std::string report_json;
  CommonOptions common;
};
int RunPrune(const PruneCliOptions& o);

/// Prints "wrote OUTPUT", then the text report when `text`, and writes the JSON report to
/// `json_path` when set; returns the exit code.
int WriteCompressReport(const char* command, const std::string& output,
                        const compress::CompressReport& report, bool text,
                        const std::string& json_path);

struct EvalOptions {
  std::string model;
  std::string fashion_mnist;  ///< data folder; empty: Debian's dataset-fashion-mnist
  int64_t batch = 100;
  CommonOptions common;
};
int RunEval(const EvalOptions& o);
struct TrainOptions {
  std::string model;
  std::string data_dir;       ///< backend-test layout (see src/train/dataset.h)
  std::string fashion_mnist;  ///< idx folder; set when --fashion-mnist is given
  std::string test_dir;       ///< optional held-out examples for --data
  std::string out;
  int epochs = 1;
  int64_t batch = 32;
  float lr = 0.01f;
  std::string optimizer = "sgd";
  float momentum = 0.9f;
  float weight_decay = 0.0f;
  std::string trainable = "all";
  std::string loss = "sce";
  int64_t limit = 0;       ///< use only the first N training examples
  int64_t test_limit = 0;  ///< evaluate on only the first N test examples
  uint64_t seed = 1;
  bool frozen_bn = false;
};
int RunTrain(const TrainOptions& o);

/// `tern make-model small-cnn OUT.onnx`: writes the Fashion-MNIST CNN with random weights.
int RunMakeModel(const std::string& kind, const std::string& out, uint64_t seed);

/// `tern fl simulate`: federated rounds in-process on Fashion-MNIST (src/fl/simulation.h).
struct FlSimulateOptions {
  int clients = 100;
  int per_round = 20;
  int rounds = 50;
  double alpha = 0.5;
  double dropout = 0.2;
  double stragglers = 0.1;
  double over_selection = 1.3;
  std::string algorithm = "fedavg";
  bool secagg = false;
  bool secagg_plus = false;
  double dp_epsilon = 0;
  double dp_delta = 1e-5;
  double dp_noise = 0;     ///< z; 0: sized from the budget and the rounds
  double dp_quantile = 0;  ///< > 0: adaptive clipping to this quantile
  double dp_clip_lr = 0.2;
  std::string csv;
  uint64_t seed = 1;
  int epochs = 5;  ///< with lr 0.1 these reach the issue's 85% bar (docs/fl.md)
  int64_t batch = 32;
  float lr = 0.1f;
  float momentum = 0.0f;
  float mu = 0.01f;            ///< FedProx
  float clip = 0.0f;           ///< client L2 clip of the update
  double server_lr = 0;        ///< 0: the algorithm's default
  double server_momentum = 0;  ///< FedAvg/FedProx server momentum (FedAvgM)
  int hidden = 128;
  std::string model;  ///< start from this ONNX file instead of a fresh MLP
  std::string data_dir;
  int64_t train_limit = 0;
  int64_t test_limit = 0;
  int threads = 1;
  int eval_every = 1;
  std::string out;  ///< write the final model here
};
int RunFlSimulate(const FlSimulateOptions& o);

// ---- fleet operator commands (cmd_fleet.cc) ----

struct KeysOptions {
  std::string action;  ///< init, rotate, export
  std::string dir;     ///< the offline key folder
  std::string out;     ///< export: the hub's --keys folder
  bool root = false;   ///< rotate the root key instead of the targets key
  int ttl_days = 365;  ///< validity of the root metadata written
};
int RunKeys(const KeysOptions& o);

/// How to reach a hub's admin API.
struct HubOptions {
  std::string hub;      ///< URL ($TERN_HUB)
  std::string api_key;  ///< admin token; $TERN_API_KEY when empty
  std::string ca_file;  ///< PEM CA bundle for https hubs
  bool json = false;    ///< print the hub's JSON instead of tables
};

struct PublishOptions {
  std::string model;  ///< ONNX file (the default file of every variant)
  std::string name;
  std::string version;
  std::vector<std::string> variants;  ///< "precision=int8,provider=cpu,features=avx2+fma,file=F"
  std::string probe_dir;              ///< input_K.pb/output_K.pb, checked locally first
  HubOptions hub;
};
int RunPublish(const PublishOptions& o);

struct RolloutCliOptions {
  std::string action;  ///< create, status, pause, resume, abort
  std::string id;
  std::string model, version, group = "default", previous_version;
  std::vector<double> stages;  ///< percents; empty: the hub's default
  int64_t min_devices = -1;    ///< negative: the hub's default
  double max_error_rate = -1, max_crash_rate = -1;
  double max_p95_regression = -1;
  bool max_p95_regression_set = false;
  int64_t min_soak_s = -1;
  HubOptions hub;
};
int RunRollout(const RolloutCliOptions& o);

struct DevicesOptions {
  std::string action;  ///< list, show
  std::string id;
  std::string group;  ///< list: only this group
  HubOptions hub;
};
int RunDevices(const DevicesOptions& o);

/// Summary line of a value: dtype, shape, min/max/mean and the first values.
std::string Summarize(const Value& v);

}  // namespace tern::cli
