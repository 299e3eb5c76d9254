// tern: inspect, run, test, quantize and evaluate ONNX models with libtern.
#include <CLI/CLI.hpp>

#include "commands.h"

using namespace tern::cli;

namespace tern::cli {
SessionOptions CommonOptions::ToSessionOptions() const {
  SessionOptions s;
  s.threads = threads;
  if (!providers.empty()) s.providers = providers;
  s.strict = strict;
  s.optimization_level = opt_level;
  s.disabled_passes = disabled_passes;
  return s;
}
}  // namespace tern::cli

static void AddCommon(CLI::App* app, CommonOptions& c) {
  app->add_option("--threads", c.threads, "intra-op threads (0: all cores)");
  app->add_option("--providers", c.providers, "execution providers in order, e.g. cpu,ref")
      ->delimiter(',');
  app->add_flag("--strict", c.strict, "fail instead of falling back to another provider");
  app->add_option("--opt-level", c.opt_level, "graph optimizations: 0 off, 1 on");
  app->add_option("--disable-pass", c.disabled_passes, "do not run this pass (repeatable)");
}

int main(int argc, char** argv) {
  CLI::App app{"tern: an edge ML runtime"};
  app.require_subcommand(1);

  TestOptions test;
  auto* t = app.add_subcommand("test", "run ONNX backend-test cases and compare outputs");
  t->add_option("paths", test.paths, "case folders or folders of cases")->required();
  t->add_option("--skip", test.skip_file, "file listing cases to skip, one per line with a reason");
  t->add_option("--models", test.models_dir, "folder of models for cases given by model.txt");
  t->add_option("--filter", test.filter, "only cases whose name contains this");
  t->add_option("--atol", test.atol, "absolute tolerance");
  t->add_option("--rtol", test.rtol, "relative tolerance");
  t->add_flag("-v,--verbose", test.verbose, "print passing cases too");
  t->add_flag("--roundtrip", test.roundtrip, "run each model after an export/import round trip");
  AddCommon(t, test.common);

  RunOptions run;
  auto* r = app.add_subcommand("run", "run a model on inputs from TensorProto files");
  r->add_option("model", run.model, "model.onnx")->required();
  r->add_option("--input", run.inputs, "NAME=FILE.pb (repeatable)");
  r->add_option("--input-dir", run.input_dir, "folder with input_K.pb in graph input order");
  r->add_option("--output-dir", run.output_dir, "write output_K.pb here");
  r->add_option("--repeat", run.repeat, "run this many times (the last result is kept)");
  AddCommon(r, run.common);

  InspectOptions inspect;
  auto* i = app.add_subcommand("inspect", "show a model's opsets, inputs, outputs and placement");
  i->add_option("model", inspect.model, "model.onnx")->required();
  i->add_flag("--values", inspect.values, "print the statically inferred type of every value");
  AddCommon(i, inspect.common);

  BenchOptions bench;
  std::vector<std::string> shape_specs;
  auto* b = app.add_subcommand("bench", "measure load time, latency and memory of a model");
  b->add_option("model", bench.model, "model.onnx")->required();
  b->add_option("--input-dir", bench.input_dir, "inputs (input_K.pb); generated when absent");
  b->add_option("--shape", shape_specs, "NAME=D0,D1,... shape of a generated input");
  b->add_option("--runs", bench.runs, "timed runs");
  b->add_option("--warmup", bench.warmup, "untimed runs after the first");
  b->add_flag("--json", bench.json, "end with one JSON line of the figures");
  b->add_option("--profile", bench.profile, "write a per-node Chrome trace JSON here");
  AddCommon(b, bench.common);

  QuantizeCliOptions quant;
  auto* q = app.add_subcommand("quantize", "write a quantized copy of a model (fp16, int8, int4)");
  q->add_option("input", quant.input, "model.onnx")->required();
  q->add_option("output", quant.output, "quantized.onnx")->required();
  q->add_option("--mode", quant.mode, "fp16, int8-dynamic, int8-static or int4-weights")
      ->required();
  q->add_option("--calibration-dir", quant.calibration_dir, "folder of test_data_set_*/input_K.pb");
  q->add_option("--eval-dir", quant.eval_dir, "inputs for the report (default: calibration)");
  q->add_option("--method", quant.method, "calibration: minmax, percentile or entropy");
  q->add_option("--percentile", quant.percentile, "share of values kept by --method percentile");
  q->add_option("--activation-type", quant.activation_type, "int8-static activations: uint8|int8");
  q->add_flag("--per-channel", quant.per_channel, "one weight scale per output channel");
  q->add_option("--block-size", quant.block_size, "int4-weights: weights per scale (32, 64, 128)")
      ->check(CLI::IsMember({16, 32, 64, 128, 256}));
  bool symmetric = false;
  auto* sym = q->add_flag("--symmetric", symmetric,
                          "int4-weights: zero point 8 in every block (the default)");
  q->add_flag("--asymmetric", quant.asymmetric, "int4-weights: a zero point per block")
      ->excludes(sym);
  q->add_option("--exclude-op", quant.exclude_ops, "op type to keep in float (repeatable)");
  q->add_option("--exclude-node", quant.exclude_nodes, "node name to keep in float (repeatable)");
  q->add_flag("--report", quant.report, "print sizes and per-output error");
  q->add_option("--report-json", quant.report_json, "write the report as JSON here");
  AddCommon(q, quant.common);

  PruneCliOptions prune;
  auto* pr = app.add_subcommand("prune", "write a magnitude-pruned copy of a model");
  pr->add_option("input", prune.input, "model.onnx")->required();
  pr->add_option("output", prune.output, "pruned.onnx")->required();
  pr->add_option("--sparsity", prune.sparsity, "share of weights (or channels) removed, 0..1")
      ->required()
      ->check(CLI::Range(0.0, 1.0));
  pr->add_flag("--structured", prune.structured,
               "remove whole Conv/Gemm output channels and rewire their consumers");
  pr->add_option("--exclude-node", prune.exclude_nodes, "node name left alone (repeatable)");
  pr->add_option("--eval-dir", prune.eval_dir, "inputs (test_data_set_*) for the report");
  pr->add_flag("--report", prune.report, "print sizes, per-output error and latency");
  pr->add_option("--report-json", prune.report_json, "write the report as JSON here");
  AddCommon(pr, prune.common);

  EvalOptions eval;
  auto* e = app.add_subcommand("eval", "accuracy of an image classifier on a labelled data set");
  e->add_option("model", eval.model, "model.onnx")->required();
  e->add_option("--fashion-mnist", eval.fashion_mnist,
                "Fashion-MNIST idx folder (default /usr/share/datasets/fashion-mnist)")
      ->expected(0, 1);
  e->add_option("--batch", eval.batch, "images per run");
  AddCommon(e, eval.common);

  TrainOptions train;
  bool use_fmnist = false;
  auto* tr = app.add_subcommand("train", "train a model's initializers and write the updated model");
  tr->add_option("model", train.model, "model.onnx")->required();
  auto* data_opt = tr->add_option("--data", train.data_dir,
                                  "folder of test_data_set_*/input_0.pb + input_1.pb|output_0.pb");
  auto* fm = tr->add_option("--fashion-mnist", train.fashion_mnist,
                            "train on Fashion-MNIST idx files (default folder: Debian's)")
                 ->expected(0, 1)
                 ->default_str("/usr/share/datasets/fashion-mnist");
  data_opt->excludes(fm);
  tr->add_option("--test-data", train.test_dir, "held-out examples for --data (same layout)");
  tr->add_option("--epochs", train.epochs, "passes over the training data");
  tr->add_option("--batch", train.batch, "examples per step");
  tr->add_option("--lr", train.lr, "learning rate");
  tr->add_option("--optimizer", train.optimizer, "sgd or adam")
      ->check(CLI::IsMember({"sgd", "adam"}));
  tr->add_option("--momentum", train.momentum, "SGD momentum");
  tr->add_option("--weight-decay", train.weight_decay, "L2 penalty");
  tr->add_option("--trainable", train.trainable, "all, or initializer names separated by commas");
  tr->add_option("--loss", train.loss, "sce (softmax cross-entropy) or mse")
      ->check(CLI::IsMember({"sce", "mse"}));
  tr->add_option("--limit", train.limit, "use only the first N training examples");
  tr->add_option("--test-limit", train.test_limit, "evaluate on only the first N test examples");
  tr->add_option("--seed", train.seed, "shuffling seed");
  tr->add_flag("--frozen-bn", train.frozen_bn, "keep BatchNormalization on running statistics");
  tr->add_option("--out", train.out, "updated model.onnx")->required();

  std::string mm_kind, mm_out;
  uint64_t mm_seed = 1;
  auto* mm = app.add_subcommand("make-model", "write a built-in model with random weights");
  mm->add_option("kind", mm_kind, "small-cnn or mlp (1x28x28 images, 10 classes)")
      ->required()
      ->check(CLI::IsMember({"small-cnn", "mlp"}));
  mm->add_option("out", mm_out, "model.onnx")->required();
  mm->add_option("--seed", mm_seed, "weight initialisation seed");

  FlSimulateOptions fls;
  auto* fl = app.add_subcommand("fl", "federated learning");
  fl->require_subcommand(1);
  auto* sim = fl->add_subcommand("simulate", "federated rounds in-process on Fashion-MNIST");
  sim->add_option("--clients", fls.clients, "simulated devices");
  sim->add_option("--per-round", fls.per_round, "reports a round needs (its goal count)");
  sim->add_option("--rounds", fls.rounds, "rounds to run");
  sim->add_option("--alpha", fls.alpha, "Dirichlet concentration of the non-IID label split");
  sim->add_option("--dropout", fls.dropout, "fraction of selected clients vanishing mid-round");
  sim->add_option("--stragglers", fls.stragglers, "fraction of slow devices (3-6x)");
  sim->add_option("--over-select", fls.over_selection, "selects ceil(per-round * this)");
  sim->add_option("--algorithm", fls.algorithm, "fedavg, fedprox, scaffold, fedadam or fedyogi")
      ->check(CLI::IsMember({"fedavg", "fedprox", "scaffold", "fedadam", "fedyogi"}));
  auto* sa = sim->add_flag("--secagg", fls.secagg, "secure aggregation");
  auto* sap = sim->add_flag("--secagg-plus", fls.secagg_plus, "SecAgg+ (sparse neighbours)");
  sa->excludes(sap);
  sim->add_option("--dp-epsilon", fls.dp_epsilon, "central DP: total epsilon of the run");
  sim->add_option("--dp-delta", fls.dp_delta, "central DP: delta");
  sim->add_option("--dp-noise", fls.dp_noise,
                  "central DP: noise multiplier (default: sized so --rounds fit the budget)");
  sim->add_option("--dp-quantile", fls.dp_quantile,
                  "central DP: adapt the clip norm (--clip is the start) to this quantile");
  sim->add_option("--dp-clip-lr", fls.dp_clip_lr, "central DP: step of the adaptive clip norm");
  sim->add_option("--csv", fls.csv, "write one row per round here");
  sim->add_option("--seed", fls.seed, "split, selection and initialisation seed");
  sim->add_option("--epochs", fls.epochs, "local epochs per round");
  sim->add_option("--batch", fls.batch, "local batch size");
  sim->add_option("--lr", fls.lr, "client learning rate (SGD)");
  sim->add_option("--momentum", fls.momentum, "client SGD momentum");
  sim->add_option("--mu", fls.mu, "FedProx proximal weight");
  sim->add_option("--clip", fls.clip, "clip each client update to this L2 norm (0: off)");
  sim->add_option("--server-lr", fls.server_lr, "server learning rate (default per algorithm)");
  sim->add_option("--server-momentum", fls.server_momentum,
                  "server momentum of fedavg/fedprox (FedAvgM)");
  sim->add_option("--hidden", fls.hidden, "hidden units of the MLP (0: softmax regression)");
  sim->add_option("--model", fls.model, "start from this ONNX model instead of a fresh MLP");
  sim->add_option("--fashion-mnist", fls.data_dir, "Fashion-MNIST idx folder");
  sim->add_option("--train-limit", fls.train_limit, "use only the first N training images");
  sim->add_option("--test-limit", fls.test_limit, "evaluate on only the first N test images");
  sim->add_option("--threads", fls.threads, "clients trained in parallel");
  sim->add_option("--eval-every", fls.eval_every, "evaluate every this many rounds");
  sim->add_option("--out", fls.out, "write the final model here");

  // ---- fleet: keys, publish, rollout, devices ----
  KeysOptions keys;
  auto* k = app.add_subcommand("keys", "offline root and targets keys for a fleet hub");
  k->require_subcommand(1);
  auto* k_init = k->add_subcommand("init", "make a root key, a targets key and root v1");
  auto* k_rotate = k->add_subcommand("rotate", "new targets (or root) key and root version");
  auto* k_export = k->add_subcommand("export", "copy the root chain and targets key for a hub");
  for (auto* sub : {k_init, k_rotate, k_export}) {
    sub->add_option("--dir", keys.dir, "offline key folder")->required();
  }
  for (auto* sub : {k_init, k_rotate}) {
    sub->add_option("--ttl-days", keys.ttl_days, "validity of the root metadata written")
        ->check(CLI::Range(1, 3650));
  }
  k_rotate->add_flag("--root", keys.root, "rotate the root key instead of the targets key");
  k_export->add_option("--out", keys.out, "the folder `tern-hub serve --keys` reads")->required();

  auto add_hub = [](CLI::App* sub, HubOptions& h) {
    sub->add_option("--hub", h.hub, "hub URL, e.g. https://hub:8700")->envname("TERN_HUB");
    sub->add_option("--api-key", h.api_key, "admin API key (default $TERN_API_KEY)");
    sub->add_option("--ca-file", h.ca_file, "PEM CA bundle for an https hub");
    sub->add_flag("--json", h.json, "print JSON instead of tables");
  };
  PublishOptions publish;
  auto* pub = app.add_subcommand("publish", "upload a model version to a fleet hub");
  pub->add_option("model", publish.model, "model.onnx")->required();
  pub->add_option("--name", publish.name, "model name on the hub")->required();
  pub->add_option("--version", publish.version, "version, e.g. 1.2.0")->required();
  pub->add_option("--variant", publish.variants,
                  "precision=P,provider=P,features=F1+F2,name=N,file=F (repeatable)");
  pub->add_option("--probe", publish.probe_dir, "folder of input_K.pb/output_K.pb");
  add_hub(pub, publish.hub);

  RolloutCliOptions rollout;
  auto* ro = app.add_subcommand("rollout", "staged rollouts on a fleet hub");
  ro->require_subcommand(1);
  auto* ro_create = ro->add_subcommand("create", "roll a version out to a device group");
  ro_create->add_option("--model", rollout.model, "model name")->required();
  ro_create->add_option("--version", rollout.version, "version to roll out")->required();
  ro_create->add_option("--group", rollout.group, "device group");
  ro_create->add_option("--previous", rollout.previous_version, "version to roll back to");
  ro_create->add_option("--stages", rollout.stages, "percents, e.g. 1,10,50,100")->delimiter(',');
  ro_create->add_option("--min-devices", rollout.min_devices, "gate: devices reporting");
  ro_create->add_option("--max-error-rate", rollout.max_error_rate, "gate: errors/inferences");
  ro_create->add_option("--max-crash-rate", rollout.max_crash_rate, "gate: failing devices");
  auto* p95 = ro_create->add_option("--max-p95-regression", rollout.max_p95_regression,
                                    "gate: p95 latency growth (0.2 = 20%; -1 off)");
  ro_create->add_option("--min-soak-s", rollout.min_soak_s, "gate: seconds per stage");
  add_hub(ro_create, rollout.hub);
  auto* ro_status = ro->add_subcommand("status", "one rollout, or all without an id");
  ro_status->add_option("id", rollout.id, "rollout id");
  add_hub(ro_status, rollout.hub);
  for (const char* action : {"pause", "resume", "abort"}) {
    auto* sub = ro->add_subcommand(action, std::string(action) + " a rollout");
    sub->add_option("id", rollout.id, "rollout id")->required();
    add_hub(sub, rollout.hub);
  }

  DevicesOptions devices;
  auto* dev = app.add_subcommand("devices", "devices registered with a fleet hub");
  dev->require_subcommand(1);
  auto* dev_list = dev->add_subcommand("list", "all devices");
  dev_list->add_option("--group", devices.group, "only this group");
  add_hub(dev_list, devices.hub);
  auto* dev_show = dev->add_subcommand("show", "one device");
  dev_show->add_option("id", devices.id, "device id")->required();
  add_hub(dev_show, devices.hub);

  CLI11_PARSE(app, argc, argv);
  if (k->parsed()) {
    keys.action = k_init->parsed() ? "init" : k_rotate->parsed() ? "rotate" : "export";
    return RunKeys(keys);
  }
  if (pub->parsed()) return RunPublish(publish);
  if (ro->parsed()) {
    for (auto* sub : ro->get_subcommands()) rollout.action = sub->get_name();
    rollout.max_p95_regression_set = p95->count() > 0;
    return RunRollout(rollout);
  }
  if (dev->parsed()) {
    devices.action = dev_show->parsed() ? "show" : "list";
    return RunDevices(devices);
  }
  if (sim->parsed()) return RunFlSimulate(fls);
  if (q->parsed()) return RunQuantize(quant);
  if (pr->parsed()) return RunPrune(prune);
  if (e->parsed()) return RunEval(eval);
  if (tr->parsed()) {
    use_fmnist = fm->count() > 0;
    if (use_fmnist && train.fashion_mnist.empty())
      train.fashion_mnist = "/usr/share/datasets/fashion-mnist";
    if (!use_fmnist) train.fashion_mnist.clear();
    if (!use_fmnist && train.data_dir.empty()) {
      std::fprintf(stderr, "tern train: give --data DIR or --fashion-mnist [DIR]\n");
      return 2;
    }
    return RunTrain(train);
  }
  if (mm->parsed()) return RunMakeModel(mm_kind, mm_out, mm_seed);
  if (b->parsed()) {
    for (const auto& spec : shape_specs) {
      auto eq = spec.find('=');
      if (eq == std::string::npos) {
        std::fprintf(stderr, "tern bench: --shape needs NAME=D0,D1,...\n");
        return 2;
      }
      std::vector<int64_t> dims;
      std::string rest = spec.substr(eq + 1);
      size_t pos = 0;
      while (pos <= rest.size() && !rest.empty()) {
        size_t comma = rest.find(',', pos);
        std::string item = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        try {
          dims.push_back(std::stoll(item));
        } catch (...) {
          std::fprintf(stderr, "tern bench: bad dimension '%s'\n", item.c_str());
          return 2;
        }
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
      bench.shapes[spec.substr(0, eq)] = dims;
    }
    return RunBench(bench);
  }
  if (t->parsed()) return RunTest(test);
  if (r->parsed()) return RunRun(run);
  if (i->parsed()) return RunInspect(inspect);
  return 2;
}
