#include "tern/session.h"

#include <functional>

#include "exec/executor.h"
#include "ir/infer.h"
#include "onnx/onnx_import.h"
#include "passes/passes.h"
#include "train/autodiff.h"

namespace tern {

std::string IoInfo::ShapeString() const {
  if (!has_shape) return "?";
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    if (dims[i] >= 0)
      s += std::to_string(dims[i]);
    else
      s += dim_names[i].empty() ? "?" : dim_names[i];
  }
  return s + "]";
}

struct Session::Impl {
  ir::Model model;
  SessionOptions options;
  std::unique_ptr<ThreadPool> pool;
  std::vector<std::shared_ptr<ExecutionProvider>> providers;
  std::unique_ptr<Executor> executor;
  std::vector<IoInfo> inputs;
  std::vector<IoInfo> outputs;
  std::vector<int> input_positions;  ///< index in graph.inputs of each required input
  std::vector<NodePlacement> placements;
  OptimizationReport optimization;
  int typed_values = 0, shaped_values = 0, total_values = 0;
};

Session::Session() : impl_(std::make_unique<Impl>()) {}
Session::~Session() = default;

namespace {

IoInfo MakeIoInfo(const ir::Value& v) {
  IoInfo io;
  io.name = v.name;
  const ir::TypeInfo* t = &v.type;
  switch (t->kind) {
    case ir::TypeInfo::Kind::kTensor:
      io.kind = IoInfo::Kind::kTensor;
      break;
    case ir::TypeInfo::Kind::kSequence:
      io.kind = IoInfo::Kind::kSequence;
      break;
    case ir::TypeInfo::Kind::kOptional:
      io.kind = IoInfo::Kind::kOptional;
      break;
    default:
      io.kind = IoInfo::Kind::kOther;
      break;
  }
  while (t->inner) t = t->inner.get();
  io.dtype = t->elem;
  io.has_shape = t->has_shape;
  for (const auto& d : t->dims) {
    io.dims.push_back(d.value);
    io.dim_names.push_back(d.param);
  }
  return io;
}

}  // namespace

struct Session::Builder {
  static Result<std::unique_ptr<Session>> Build(std::unique_ptr<Session> s, ir::Model model,
                                                const SessionOptions& options) {
    Impl& im = *s->impl_;
    im.model = std::move(model);
    // Gradient nodes have no kernel: they become the backward nodes that compute them.
    if (train::HasGradientOps(*im.model.graph))
      TERN_RETURN_IF_ERROR(train::ExpandGradientOps(*im.model.graph));
    ir::InferStats stats = ir::InferTypes(*im.model.graph);
    im.typed_values = stats.typed;
    im.shaped_values = stats.shaped;
    im.total_values = stats.values;
    im.options = options;
    int threads = options.threads > 0 ? options.threads : ThreadPool::DefaultThreads();
    if (threads > 256) return InvalidArgument("too many threads: " + std::to_string(threads));
    im.pool = std::make_unique<ThreadPool>(threads);
    for (const auto& name : options.providers) {
      TERN_ASSIGN_OR_RETURN(auto p, MakeProvider(name));
      im.providers.push_back(std::move(p));
    }
    if (im.providers.empty()) return InvalidArgument("no execution providers");
    const ir::Graph& g = *im.model.graph;
    // The interface is recorded before the passes so that it is the model's declared one.
    for (size_t i = 0; i < g.inputs.size(); ++i) {
      const ir::Value& v = g.values[g.inputs[i]];
      if (v.is_initializer) continue;
      im.inputs.push_back(MakeIoInfo(v));
      im.input_positions.push_back(static_cast<int>(i));
    }
    for (int v : g.outputs) im.outputs.push_back(MakeIoInfo(g.values[v]));
    im.optimization.nodes_before = im.optimization.nodes_after = g.TotalNodes();
    if (options.optimization_level >= 1) {
      TERN_ASSIGN_OR_RETURN(passes::OptimizeResult opt,
                            passes::Optimize(im.model, options.disabled_passes));
      im.optimization.nodes_after = opt.nodes_after;
      for (const auto& p : opt.passes)
        im.optimization.passes.push_back(PassRecord{p.pass, p.verb, p.count});
    }
    ExecConfig config;
    config.providers = im.providers;
    config.strict = options.strict;
    config.pool = im.pool.get();
    config.placements = &im.placements;
    config.check_inputs = true;
    TERN_ASSIGN_OR_RETURN(im.executor, Executor::Create(g, config));
    return s;
  }
};

Result<std::unique_ptr<Session>> Session::Load(const std::string& path,
                                               const SessionOptions& options) {
  TERN_ASSIGN_OR_RETURN(ir::Model model, onnx::ImportModelFile(path, options.max_model_bytes));
  std::unique_ptr<Session> s(new Session());
  auto r = Builder::Build(std::move(s), std::move(model), options);
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

Result<std::unique_ptr<Session>> Session::LoadFromMemory(const void* data, size_t size,
                                                         const SessionOptions& options) {
  onnx::ImportOptions io;
  io.max_model_bytes = options.max_model_bytes;
  TERN_ASSIGN_OR_RETURN(ir::Model model, onnx::ImportModel(data, size, io));
  std::unique_ptr<Session> s(new Session());
  return Builder::Build(std::move(s), std::move(model), options);
}

const std::vector<IoInfo>& Session::inputs() const { return impl_->inputs; }
const std::vector<IoInfo>& Session::outputs() const { return impl_->outputs; }
const std::map<std::string, int64_t>& Session::opsets() const { return impl_->model.opsets; }
int64_t Session::ir_version() const { return impl_->model.ir_version; }
const std::vector<NodePlacement>& Session::placements() const { return impl_->placements; }
const OptimizationReport& Session::optimization_report() const { return impl_->optimization; }

std::map<std::string, int> Session::OpHistogram() const {
  std::map<std::string, int> h;
  std::function<void(const ir::Graph&)> walk = [&](const ir::Graph& g) {
    for (const auto& n : g.nodes) {
      ++h[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type];
      for (const auto& a : n.attrs) {
        if (a.g) walk(*a.g);
        for (const auto& sg : a.graphs) walk(*sg);
      }
    }
  };
  walk(*impl_->model.graph);
  return h;
}

std::vector<std::pair<std::string, std::string>> Session::ValueTypes() const {
  std::vector<std::pair<std::string, std::string>> out;
  const ir::Graph& g = *impl_->model.graph;
  for (const auto& n : g.nodes)
    for (int v : n.outputs)
      if (v >= 0) out.emplace_back(g.values[v].name, g.values[v].type.ToString());
  return out;
}

uint64_t Session::peak_arena_bytes() const { return impl_->executor->peak_arena_bytes(); }

Status Session::Run(const std::vector<Value>& inputs, std::vector<Value>* outputs,
                    RunStats* stats) const {
  if (inputs.size() != impl_->inputs.size())
    return InvalidArgument("the model takes " + std::to_string(impl_->inputs.size()) +
                           " inputs, got " + std::to_string(inputs.size()));
  const ir::Graph& g = *impl_->model.graph;
  std::vector<const Value*> feeds(g.inputs.size(), nullptr);
  for (size_t i = 0; i < inputs.size(); ++i) feeds[impl_->input_positions[i]] = &inputs[i];
  return impl_->executor->RunWithStats(feeds, {}, outputs, stats);
}

Status Session::Run(const std::map<std::string, Value>& inputs, std::vector<Value>* outputs,
                    RunStats* stats) const {
  const ir::Graph& g = *impl_->model.graph;
  std::vector<const Value*> feeds(g.inputs.size(), nullptr);
  for (const auto& [name, value] : inputs) {
    bool found = false;
    for (size_t i = 0; i < g.inputs.size(); ++i)
      if (g.values[g.inputs[i]].name == name) {
        feeds[i] = &value;
        found = true;
      }
    if (!found) return InvalidArgument("the model has no input named '" + name + "'");
  }
  return impl_->executor->RunWithStats(feeds, {}, outputs, stats);
}

}  // namespace tern
