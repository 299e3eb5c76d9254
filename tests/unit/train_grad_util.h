// Numerical gradient checks for src/train: builds small float64 graphs in the IR, differentiates
// them with BuildTrainingGraph, and compares every analytic gradient element with a central
// difference of the loss (step 1e-6 in double: truncation ~1e-12, round-off ~1e-10).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ep/provider.h"
#include "exec/executor.h"
#include "train/autodiff.h"
#include "train/grad_builder.h"

namespace tern::test {

/// A graph under test: random float64 parameters, constants and nodes.
class GradGraph {
 public:
  explicit GradGraph(uint64_t seed = 1) : rng_(seed) {}
  ir::Graph& graph() { return g_; }

  /// A trainable initializer with values uniform in [lo, hi].
  int Param(const std::string& name, const std::vector<int64_t>& shape, double lo = -1,
            double hi = 1) {
    std::uniform_real_distribution<double> dist(lo, hi);
    std::vector<double> v(static_cast<size_t>(Shape(shape).NumElements()));
    for (double& x : v) x = dist(rng_);
    return Const(name, Tensor::FromVector<double>(DataType::kFloat64, Shape(shape), v));
  }
  int Const(const std::string& name, Tensor t) {
    const int id = g_.AddValue(name);
    g_.values[id].is_initializer = true;
    g_.values[id].type.kind = ir::TypeInfo::Kind::kTensor;
    g_.values[id].type.elem = t.dtype();
    g_.values[id].type.has_shape = true;
    for (int64_t d : t.shape()) g_.values[id].type.dims.push_back(ir::Dim{d, ""});
    g_.values[id].initializer = std::move(t);
    return id;
  }
  /// Appends a node; returns its output ids.
  std::vector<int> Node(const std::string& op, const std::vector<int>& inputs,
                        std::vector<ir::Attribute> attrs = {}, int num_outputs = 1, int opset = 13,
                        const std::string& domain = "") {
    ir::Node n;
    n.op_type = op;
    n.domain = domain;
    n.opset = opset;
    n.name = op + std::to_string(g_.nodes.size());
    n.inputs = inputs;
    n.attrs = std::move(attrs);
    for (int i = 0; i < num_outputs; ++i) {
      const int v = g_.AddValue(n.name + ":" + std::to_string(i));
      g_.values[v].producer = static_cast<int>(g_.nodes.size());
      n.outputs.push_back(v);
    }
    g_.nodes.push_back(std::move(n));
    return g_.nodes.back().outputs;
  }
  int Node1(const std::string& op, const std::vector<int>& inputs,
            std::vector<ir::Attribute> attrs = {}, int opset = 13) {
    return Node(op, inputs, std::move(attrs), 1, opset)[0];
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  ir::Graph g_;
  std::mt19937_64 rng_;
};

inline std::unique_ptr<Executor> MakeExecutor(const ir::Graph& g) {
  static ThreadPool pool(1);
  ExecConfig config;
  config.providers = {MakeProvider("ref").value()};
  config.pool = &pool;
  auto ex = Executor::Create(g, config);
  EXPECT_TRUE(ex.ok()) << ex.status().ToString();
  return ex.ok() ? std::move(ex).value() : nullptr;
}

/// Differentiates `gg` with output `pred` (a loss when `pred_is_loss`, else the loss is the mean
/// squared error against a random target) and checks every parameter gradient numerically.
/// Returns the number of elements checked.
inline int CheckGradients(GradGraph& gg, int pred, bool pred_is_loss = false,
                          train::TrainingGraphOptions opt = {}) {
  ir::Graph& g = gg.graph();
  const int dummy = g.AddValue("unused_data");  // the trainer's data input; unused here
  g.values[dummy].is_input = true;
  g.inputs.insert(g.inputs.begin(), dummy);
  Tensor dummy_t = Tensor::FromVector<double>(DataType::kFloat64, Shape{1}, {0.0});
  Value dummy_v(dummy_t);
  int loss = pred;
  if (!pred_is_loss) {
    g.outputs = {pred};
    auto fwd = MakeExecutor(g);
    if (!fwd) return 0;
    std::vector<Value> out;
    Status st = fwd->Run({&dummy_v}, {}, &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (!st.ok()) return 0;
    const int target = gg.Param("target", out[0].tensor.shape().ToVector());
    loss = gg.Node("MeanSquaredError", {pred, target}, {}, 1, 1, "ai.tern")[0];
  }
  g.outputs = {loss};
  opt.loss = train::LossKind::kNone;
  auto tg_r = train::BuildTrainingGraph(g, opt);
  EXPECT_TRUE(tg_r.ok()) << tg_r.status().ToString();
  if (!tg_r.ok()) return 0;
  train::TrainingGraph tg = std::move(tg_r).value();
  auto ex = MakeExecutor(*tg.graph);
  if (!ex) return 0;
  std::vector<Tensor> params, states;
  for (const auto& name : tg.params)
    params.push_back(g.values[g.FindValue(name)].initializer.Clone().value());
  for (const auto& name : tg.states)
    states.push_back(g.values[g.FindValue(name)].initializer.Clone().value());
  std::vector<Value> pv(params.begin(), params.end()), sv(states.begin(), states.end());
  std::vector<const Value*> feeds(tg.graph->inputs.size(), nullptr);
  feeds[tg.data_input] = &dummy_v;
  for (size_t i = 0; i < params.size(); ++i) feeds[tg.param_inputs[i]] = &pv[i];
  for (size_t i = 0; i < states.size(); ++i) feeds[tg.state_inputs[i]] = &sv[i];
  std::vector<Value> out;
  auto run_loss = [&]() {
    Status st = ex->Run(feeds, {}, &out);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return st.ok() ? out[tg.loss_output].tensor.data<double>()[0] : NAN;
  };
  run_loss();
  std::vector<Tensor> grads;
  for (size_t i = 0; i < params.size(); ++i) grads.push_back(out[tg.grad_outputs[i]].tensor);
  int checked = 0;
  const double eps = 1e-6;
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(grads[i].shape(), params[i].shape()) << tg.params[i];
    if (grads[i].shape() != params[i].shape()) continue;
    double* p = params[i].data<double>();
    for (int64_t j = 0; j < params[i].numel(); ++j) {
      const double keep = p[j];
      p[j] = keep + eps;
      const double up = run_loss();
      p[j] = keep - eps;
      const double down = run_loss();
      p[j] = keep;
      const double numeric = (up - down) / (2 * eps);
      const double analytic = grads[i].data<double>()[j];
      EXPECT_NEAR(analytic, numeric, 1e-6 + 1e-5 * std::fabs(numeric))
          << tg.params[i] << "[" << j << "]";
      ++checked;
    }
  }
  return checked;
}

}  // namespace tern::test
