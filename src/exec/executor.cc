#include "exec/executor.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "planner/memory_plan.h"

namespace tern {

/// How a value came to be in the recording run.
enum class Origin : uint8_t { kNone, kAllocated, kAlias, kSet };

struct ValueRecord {
  Origin origin = Origin::kNone;
  DataType dtype = DataType::kUndefined;
  Shape shape;
  int alias_root = -1;  ///< for kAlias: the allocated value whose memory it shares
};

struct Plan {
  std::vector<int64_t> signature;
  std::vector<int64_t> offset;   ///< per value; -1 when not in the arena
  std::vector<DataType> dtype;
  std::vector<Shape> shape;
  std::vector<int> alias_root;   ///< per value; root value id when the plan shares its memory
  uint64_t arena_bytes = 0;
};

struct RunState {
  std::vector<Value> values;
  std::vector<ValueRecord> record;
  std::vector<Origin> origin;  ///< how each value was made in this run
  std::vector<int64_t> signature;
  std::vector<const Value*> in_ptrs;
  std::vector<const Value*> implicit_ptrs;
  Value scratch;  ///< outputs the model does not use
  uint8_t* arena = nullptr;
  uint64_t arena_capacity = 0;
  uint64_t dynamic_bytes = 0;
  std::shared_ptr<const Plan> plan;
  bool recording = false;
  ~RunState() { std::free(arena); }
};

struct Executor::Step {
  const ir::Node* node = nullptr;
  std::unique_ptr<OpKernel> kernel;
  int step_index = 0;
  const char* provider = "";
};

namespace {

class StepAllocator : public OutputAllocator {
 public:
  StepAllocator(RunState& st, const ir::Node& node, int step) : st_(st), node_(node), step_(step) {}

  Result<Tensor*> Allocate(size_t output, DataType type, const Shape& shape) override {
    if (output >= node_.outputs.size())
      return InvalidArgument(node_.Describe() + ": output " + std::to_string(output) +
                             " does not exist");
    int vid = node_.outputs[output];
    Value& slot = vid >= 0 ? st_.values[vid] : st_.scratch;
    Status shape_ok = CheckShape(shape, type, "output");
    if (!shape_ok.ok()) return shape_ok.WithContext(node_.Describe());
    slot = Value();
    slot.kind = Value::Kind::kTensor;
    const Plan* plan = st_.plan.get();
    if (vid >= 0 && plan && plan->offset[vid] >= 0 && plan->dtype[vid] == type &&
        plan->shape[vid] == shape) {
      slot.tensor = Tensor::Wrap(type, shape, st_.arena + plan->offset[vid]);
    } else {
      TERN_ASSIGN_OR_RETURN(slot.tensor, Tensor::Allocate(type, shape));
      st_.dynamic_bytes += slot.tensor.nbytes();
    }
    if (vid >= 0) {
      st_.origin[vid] = Origin::kAllocated;
      if (st_.recording) {
        ValueRecord& r = st_.record[vid];
        r.origin = Origin::kAllocated;
        r.dtype = type;
        r.shape = shape;
      }
    }
    return &slot.tensor;
  }

  Status Alias(size_t output, size_t input, const Shape& shape) override {
    if (output >= node_.outputs.size() || input >= node_.inputs.size() ||
        node_.inputs[input] < 0)
      return Internal(node_.Describe() + ": bad alias");
    int in = node_.inputs[input];
    const Tensor& src = st_.values[in].tensor;
    if (!st_.values[in].is_tensor() || src.numel() != shape.NumElements())
      return InvalidArgument(node_.Describe() + ": cannot view input as shape " + shape.ToString());
    int vid = node_.outputs[output];
    if (vid < 0) return Status::Ok();
    bool in_arena = st_.arena && src.raw() >= st_.arena &&
                    static_cast<const uint8_t*>(src.raw()) < st_.arena + st_.arena_capacity;
    int root = st_.origin[in] == Origin::kAllocated ? in : -1;
    if (root < 0 && st_.origin[in] == Origin::kAlias && st_.recording) root = st_.record[in].alias_root;
    if (in_arena) {
      const Plan* plan = st_.plan.get();
      int planned_root = plan ? plan->alias_root[vid] : -1;
      int in_root = plan ? (plan->alias_root[in] >= 0 ? plan->alias_root[in] : in) : -1;
      if (planned_root < 0 || planned_root != in_root) {
        // The plan did not expect this alias: copy so the arena slot may be reused safely.
        TERN_ASSIGN_OR_RETURN(Tensor * out, Allocate(output, src.dtype(), shape));
        if (src.nbytes()) std::memcpy(out->raw(), src.raw(), src.nbytes());
        return Status::Ok();
      }
    }
    Value& slot = st_.values[vid];
    slot = Value();
    slot.kind = Value::Kind::kTensor;
    slot.tensor = src.Reshaped(shape);
    st_.origin[vid] = Origin::kAlias;
    if (st_.recording) {
      ValueRecord& r = st_.record[vid];
      r.origin = root >= 0 ? Origin::kAlias : Origin::kSet;
      r.alias_root = root;
      r.dtype = src.dtype();
      r.shape = shape;
    }
    return Status::Ok();
  }

  Status Set(size_t output, Value value) override {
    if (output >= node_.outputs.size())
      return InvalidArgument(node_.Describe() + ": output " + std::to_string(output) +
                             " does not exist");
    int vid = node_.outputs[output];
    if (vid < 0) return Status::Ok();
    st_.values[vid] = std::move(value);
    st_.origin[vid] = Origin::kSet;
    if (st_.recording) st_.record[vid].origin = Origin::kSet;
    return Status::Ok();
  }

 private:
  RunState& st_;
  const ir::Node& node_;
  int step_;
};

/// Where node timings go while a profiled run is in progress on this thread: subgraph executors
/// (If/Loop/Scan bodies, run from inside a kernel) record their nodes into the same trace, named
/// with their scope prefix, with times from the start of the outermost run.
struct ProfileSink {
  std::vector<NodeTiming>* out = nullptr;
  std::chrono::steady_clock::time_point origin;
};
thread_local ProfileSink* t_profile = nullptr;

/// Installs a sink for the duration of a run and puts the previous one back.
class ProfileScope {
 public:
  explicit ProfileScope(ProfileSink* sink) : saved_(t_profile) { t_profile = sink; }
  ~ProfileScope() { t_profile = saved_; }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  ProfileSink* saved_;
};

void AppendSignature(const Value* v, std::vector<int64_t>& sig, bool& plannable) {
  if (!v) {
    sig.push_back(-1);
    return;
  }
  if (!v->is_tensor()) {
    plannable = false;
    return;
  }
  sig.push_back(static_cast<int64_t>(v->tensor.dtype()));
  sig.push_back(static_cast<int64_t>(v->tensor.rank()));
  for (int64_t d : v->tensor.shape()) sig.push_back(d);
}

}  // namespace

Executor::Executor(const ir::Graph& graph, const ExecConfig& config, std::string scope_prefix)
    : graph_(graph), config_(config), scope_prefix_(std::move(scope_prefix)) {}

Executor::~Executor() = default;

Result<std::unique_ptr<Executor>> Executor::Create(const ir::Graph& graph,
                                                   const ExecConfig& config,
                                                   const std::string& scope_prefix) {
  std::unique_ptr<Executor> ex(new Executor(graph, config, scope_prefix));
  TERN_RETURN_IF_ERROR(ex->Build());
  return ex;
}

Result<std::unique_ptr<SubgraphRunner>> Executor::Create(const ir::Graph& graph) const {
  ExecConfig sub = config_;
  sub.check_inputs = false;
  std::string prefix = scope_prefix_ + (graph.name.empty() ? "subgraph" : graph.name) + "/";
  TERN_ASSIGN_OR_RETURN(auto ex, Create(graph, sub, prefix));
  return std::unique_ptr<SubgraphRunner>(std::move(ex));
}

Status Executor::Build() {
  if (config_.providers.empty()) return InvalidArgument("no execution providers");
  const size_t nv = graph_.values.size();
  value_last_use_.assign(nv, -1);
  value_is_output_.assign(nv, false);
  for (int v : graph_.outputs) value_is_output_[v] = true;
  steps_.resize(graph_.nodes.size());
  release_after_.assign(graph_.nodes.size(), {});
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const ir::Node& node = graph_.nodes[i];
    Step& step = steps_[i];
    step.node = &node;
    step.step_index = static_cast<int>(i);
    for (int v : node.inputs)
      if (v >= 0) value_last_use_[v] = static_cast<int>(i);
    for (int v : node.implicit_inputs) value_last_use_[v] = static_cast<int>(i);

    KernelInfo info(graph_, node, this);
    std::string reasons;
    for (size_t p = 0; p < config_.providers.size(); ++p) {
      const auto& provider = config_.providers[p];
      auto kernel = provider->CreateKernel(info);
      if (kernel.ok()) {
        step.kernel = std::move(kernel).value();
        step.provider = provider->name();
        if (config_.placements) {
          NodePlacement rec;
          rec.node_name = scope_prefix_ + node.name;
          rec.op_type = node.op_type;
          rec.domain = node.domain;
          rec.opset = node.opset;
          rec.provider = provider->name();
          rec.reason = p == 0 ? "preferred provider" : "fallback: " + reasons;
          config_.placements->push_back(std::move(rec));
        }
        break;
      }
      if (kernel.status().code() != StatusCode::kNotImplemented) {
        if (kernel.status().message().rfind(node.Describe(), 0) == 0) return kernel.status();
        return kernel.status().WithContext(node.Describe());
      }
      if (!reasons.empty()) reasons += "; ";
      reasons += std::string(provider->name()) + ": " + kernel.status().message();
      if (config_.strict)
        return Status(StatusCode::kFailedPrecondition,
                      node.Describe() + ": strict mode: provider '" + provider->name() +
                          "' cannot run it (" + kernel.status().message() + ")");
    }
    if (!step.kernel) return NotImplemented(node.Describe() + ": no provider can run it: " + reasons);
  }
  for (size_t v = 0; v < nv; ++v) {
    const ir::Value& val = graph_.values[v];
    if (value_is_output_[v] || val.is_initializer || val.is_input || val.is_outer) continue;
    int last = value_last_use_[v];
    if (last < 0) last = val.producer;  // produced but never read: drop right away
    if (last >= 0) release_after_[last].push_back(static_cast<int>(v));
  }
  return Status::Ok();
}

std::unique_ptr<RunState> Executor::AcquireState() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_states_.empty()) {
      auto st = std::move(free_states_.back());
      free_states_.pop_back();
      return st;
    }
  }
  auto st = std::make_unique<RunState>();
  st->values.resize(graph_.values.size());
  st->record.resize(graph_.values.size());
  st->origin.assign(graph_.values.size(), Origin::kNone);
  for (size_t v = 0; v < graph_.values.size(); ++v)
    if (graph_.values[v].is_initializer) st->values[v] = Value(graph_.values[v].initializer);
  return st;
}

void Executor::ReleaseState(std::unique_ptr<RunState> st) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_states_.size() < 16) free_states_.push_back(std::move(st));
}

std::shared_ptr<const Plan> Executor::FindPlan(const std::vector<int64_t>& signature) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : plans_)
    if (p->signature == signature) return p;
  return nullptr;
}

uint64_t Executor::peak_arena_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_arena_bytes_;
}

void Executor::MakePlan(const RunState& st) const {
  const size_t nv = graph_.values.size();
  auto plan = std::make_shared<Plan>();
  plan->signature = st.signature;
  plan->offset.assign(nv, -1);
  plan->dtype.assign(nv, DataType::kUndefined);
  plan->shape.assign(nv, Shape());
  plan->alias_root.assign(nv, -1);
  // Lifetimes of allocated values, extended by their aliases; roots that reach a graph output
  // stay out of the arena so outputs can be handed to the caller without a copy.
  std::vector<int> end(nv, -1);
  std::vector<bool> excluded(nv, false);
  for (size_t v = 0; v < nv; ++v) {
    const ValueRecord& r = st.record[v];
    if (r.origin == Origin::kAllocated) {
      end[v] = std::max(value_last_use_[v], graph_.values[v].producer);
      if (value_is_output_[v] || r.dtype == DataType::kString) excluded[v] = true;
    }
  }
  for (size_t v = 0; v < nv; ++v) {
    const ValueRecord& r = st.record[v];
    if (r.origin != Origin::kAlias || r.alias_root < 0) continue;
    int root = r.alias_root;
    end[root] = std::max(end[root], value_last_use_[v]);
    if (value_is_output_[v]) excluded[root] = true;
  }
  std::vector<planner::BufferRequest> requests;
  std::vector<int> request_value;
  for (size_t v = 0; v < nv; ++v) {
    const ValueRecord& r = st.record[v];
    if (r.origin != Origin::kAllocated || excluded[v]) continue;
    planner::BufferRequest req;
    req.bytes = static_cast<uint64_t>(r.shape.NumElements()) * DataTypeSize(r.dtype);
    req.first_step = graph_.values[v].producer;
    req.last_step = end[v];
    requests.push_back(req);
    request_value.push_back(static_cast<int>(v));
  }
  planner::ArenaLayout layout = planner::PlanArena(requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    int v = request_value[i];
    plan->offset[v] = static_cast<int64_t>(layout.offsets[i]);
    plan->dtype[v] = st.record[v].dtype;
    plan->shape[v] = st.record[v].shape;
  }
  for (size_t v = 0; v < nv; ++v) {
    const ValueRecord& r = st.record[v];
    if (r.origin == Origin::kAlias && r.alias_root >= 0 && plan->offset[r.alias_root] >= 0)
      plan->alias_root[v] = r.alias_root;
  }
  plan->arena_bytes = layout.arena_bytes;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& p : plans_)
    if (p->signature == plan->signature) return;
  if (plans_.size() >= 8) plans_.erase(plans_.begin());
  plans_.push_back(plan);
  peak_arena_bytes_ = std::max(peak_arena_bytes_, plan->arena_bytes);
}

Status Executor::CheckInput(size_t index, const Value& value) const {
  const ir::Value& decl = graph_.values[graph_.inputs[index]];
  const ir::TypeInfo& t = decl.type;
  if (value.is_tensor()) {
    // Whatever the declaration, a tensor must be well formed: a defined type, a valid shape and
    // memory behind its elements.
    const Tensor& x = value.tensor;
    if (!x.defined()) return InvalidArgument("input '" + decl.name + "' is an undefined tensor");
    TERN_RETURN_IF_ERROR(CheckShape(x.shape(), x.dtype(), ("input '" + decl.name + "'").c_str(),
                                    std::numeric_limits<uint64_t>::max()));
    if (x.numel() > 0 && x.raw() == nullptr)
      return InvalidArgument("input '" + decl.name + "' has no data");
  }
  if (t.kind == ir::TypeInfo::Kind::kTensor) {
    if (!value.is_tensor())
      return InvalidArgument("input '" + decl.name + "' must be a tensor");
    const Tensor& x = value.tensor;
    if (t.elem != DataType::kUndefined && x.dtype() != t.elem)
      return InvalidArgument("input '" + decl.name + "': expected " + DataTypeName(t.elem) +
                             ", got " + DataTypeName(x.dtype()));
    if (t.has_shape) {
      if (x.rank() != t.dims.size())
        return InvalidArgument("input '" + decl.name + "': expected rank " +
                               std::to_string(t.dims.size()) + ", got shape " +
                               x.shape().ToString());
      for (size_t d = 0; d < t.dims.size(); ++d)
        if (t.dims[d].known() && t.dims[d].value != x.dim(d))
          return InvalidArgument("input '" + decl.name + "': dimension " + std::to_string(d) +
                                 " must be " + std::to_string(t.dims[d].value) + ", got shape " +
                                 x.shape().ToString());
    }
    if (x.numel() > 0 && x.raw() == nullptr)
      return InvalidArgument("input '" + decl.name + "' has no data");
  } else if (t.kind == ir::TypeInfo::Kind::kSequence && !value.is_sequence()) {
    return InvalidArgument("input '" + decl.name + "' must be a sequence");
  }
  return Status::Ok();
}

Status Executor::Run(const std::vector<const Value*>& inputs,
                     const std::vector<const Value*>& outer, std::vector<Value>* outputs) const {
  return RunWithStats(inputs, outer, outputs, nullptr);
}

Status Executor::RunWithStats(const std::vector<const Value*>& inputs,
                              const std::vector<const Value*>& outer,
                              std::vector<Value>* outputs, RunStats* stats) const {
  if (inputs.size() > graph_.inputs.size())
    return InvalidArgument("got " + std::to_string(inputs.size()) + " inputs, the graph has " +
                           std::to_string(graph_.inputs.size()));
  if (outer.size() != graph_.outer_refs.size())
    return Internal("outer value count mismatch in graph '" + graph_.name + "'");
  std::unique_ptr<RunState> st = AcquireState();
  RunState& s = *st;
  // Bind inputs and outer values; build the signature.
  s.signature.clear();
  bool plannable = true;
  for (size_t i = 0; i < graph_.inputs.size(); ++i) {
    int vid = graph_.inputs[i];
    const Value* v = i < inputs.size() ? inputs[i] : nullptr;
    if (v == nullptr) {
      if (!graph_.values[vid].is_initializer) {
        ReleaseState(std::move(st));
        return InvalidArgument("missing input '" + graph_.values[vid].name + "'");
      }
      s.values[vid] = Value(graph_.values[vid].initializer);
    } else {
      if (config_.check_inputs) {
        Status cs = CheckInput(i, *v);
        if (!cs.ok()) {
          ReleaseState(std::move(st));
          return cs;
        }
      }
      s.values[vid] = *v;
    }
    AppendSignature(&s.values[vid], s.signature, plannable);
  }
  for (size_t i = 0; i < outer.size(); ++i) {
    s.values[graph_.outer_refs[i]] = outer[i] ? *outer[i] : Value();
    AppendSignature(outer[i], s.signature, plannable);
  }
  s.plan = plannable ? FindPlan(s.signature) : nullptr;
  s.recording = plannable && !s.plan;
  s.dynamic_bytes = 0;
  if (s.plan && s.plan->arena_bytes > s.arena_capacity) {
    std::free(s.arena);
    s.arena_capacity = 0;
    s.arena = static_cast<uint8_t*>(std::aligned_alloc(64, s.plan->arena_bytes));
    if (!s.arena) {
      ReleaseState(std::move(st));
      return ResourceExhausted("cannot allocate an arena of " +
                               std::to_string(s.plan->arena_bytes) + " bytes");
    }
    s.arena_capacity = s.plan->arena_bytes;
  }
  if (s.recording)
    for (auto& r : s.record) r = ValueRecord();
  std::fill(s.origin.begin(), s.origin.end(), Origin::kNone);

  Status status;
  ProfileSink own_sink;
  ProfileSink* sink = t_profile;
  if (stats && stats->profile) {
    stats->profile->clear();
    own_sink.out = stats->profile;
    own_sink.origin = std::chrono::steady_clock::now();
    sink = &own_sink;
  }
  ProfileScope profile_scope(sink);
  for (const Step& step : steps_) {
    std::chrono::steady_clock::time_point step_start;
    if (sink) step_start = std::chrono::steady_clock::now();
    const ir::Node& node = *step.node;
    s.in_ptrs.clear();
    for (int v : node.inputs) s.in_ptrs.push_back(v >= 0 ? &s.values[v] : nullptr);
    s.implicit_ptrs.clear();
    for (int v : node.implicit_inputs) s.implicit_ptrs.push_back(&s.values[v]);
    StepAllocator alloc(s, node, step.step_index);
    KernelContext ctx(node, s.in_ptrs.data(), s.in_ptrs.size(), s.implicit_ptrs.data(),
                      s.implicit_ptrs.size(), &alloc, config_.pool);
    status = step.kernel->Compute(ctx);
    if (sink) {
      auto end = std::chrono::steady_clock::now();
      NodeTiming t;
      t.node_name = scope_prefix_ + node.name;
      t.op_type = node.op_type;
      t.provider = step.provider;
      t.start_us = std::chrono::duration<double, std::micro>(step_start - sink->origin).count();
      t.duration_us = std::chrono::duration<double, std::micro>(end - step_start).count();
      sink->out->push_back(std::move(t));
    }
    if (!status.ok()) {
      if (status.message().rfind(node.Describe(), 0) != 0)
        status = status.WithContext(scope_prefix_ + node.Describe());
      break;
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      int v = node.outputs[o];
      if (v >= 0 && s.origin[v] == Origin::kNone) {
        status = Internal(node.Describe() + ": kernel did not produce output " +
                          std::to_string(o));
        break;
      }
    }
    if (!status.ok()) break;
    s.scratch = Value();
    for (int v : release_after_[step.step_index]) s.values[v] = Value();
  }

  if (status.ok()) {
    outputs->clear();
    outputs->reserve(graph_.outputs.size());
    for (int v : graph_.outputs) {
      Value out = s.values[v];
      // Hand over memory made in this run; copy anything that belongs to someone else
      // (caller inputs, initializers, outer values) or to the arena.
      bool owned = s.origin[v] == Origin::kAllocated;
      if (out.is_tensor() && (!owned || !out.tensor.holder())) {
        auto c = out.tensor.Clone();
        if (!c.ok()) {
          status = c.status();
          break;
        }
        out.tensor = std::move(c).value();
      } else if (out.is_sequence()) {
        for (auto& t : out.sequence)
          if (!owned || !t.holder()) {
            auto c = t.Clone();
            if (!c.ok()) {
              status = c.status();
              break;
            }
            t = std::move(c).value();
          }
        if (!status.ok()) break;
      }
      outputs->push_back(std::move(out));
    }
  }
  if (status.ok() && s.recording) MakePlan(s);
  if (stats) {
    stats->arena_bytes = s.plan ? s.plan->arena_bytes : 0;
    stats->dynamic_bytes = s.dynamic_bytes;
    stats->planned = s.plan != nullptr;
  }
  // Drop everything this run made; keep initializers bound.
  for (size_t v = 0; v < s.values.size(); ++v)
    if (!graph_.values[v].is_initializer || graph_.values[v].is_input) {
      if (graph_.values[v].is_initializer) s.values[v] = Value(graph_.values[v].initializer);
      else s.values[v] = Value();
    }
  s.scratch = Value();
  s.plan.reset();
  ReleaseState(std::move(st));
  return status;
}

}  // namespace tern
