// Scan: iterates a body over slices of its scan inputs, carrying state variables.
// Opset 8: a leading batch axis on every input and output and an optional first input
// sequence_lens; scan inputs are scanned along axis 1 (directions per scan input).
// Opset 9+: no batch axis; per-input axes/directions and per-output axes/directions.
#include "ep/ref/control_util.h"

namespace tern::ref {
namespace {

// Largest iteration (or batch) count accepted over scan inputs without elements.
constexpr int64_t kMaxEmptyIterations = int64_t{1} << 24;

class ScanKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(LoadSubgraph(info, "body", &body_));
    v8_ = info.opset() < 9;
    const int64_t m = info.GetInt("num_scan_inputs", -1);
    const size_t first = v8_ ? 1 : 0;  // opset 8: sequence_lens comes first
    if (m < 1 || static_cast<size_t>(m) + first > info.num_inputs())
      return info.Error(
          StatusCode::kInvalidModel,
          "num_scan_inputs must be in [1, " + std::to_string(info.num_inputs() - first) + "]");
    num_scan_in_ = static_cast<size_t>(m);
    num_state_ = info.num_inputs() - first - num_scan_in_;
    if (body_.num_inputs() != num_state_ + num_scan_in_)
      return info.Error(StatusCode::kInvalidModel,
                        "body must have " + std::to_string(num_state_ + num_scan_in_) + " inputs");
    if (body_.num_outputs() < num_state_ || info.num_outputs() > body_.num_outputs())
      return info.Error(StatusCode::kInvalidModel, "body outputs do not match the node's");
    num_scan_out_ = body_.num_outputs() - num_state_;
    in_dirs_ = info.GetInts(v8_ ? "directions" : "scan_input_directions");
    if (in_dirs_.empty()) in_dirs_.assign(num_scan_in_, 0);
    if (in_dirs_.size() != num_scan_in_)
      return info.Error(StatusCode::kInvalidModel, "one direction per scan input is needed");
    if (!v8_) {
      in_axes_ = info.GetInts("scan_input_axes");
      if (in_axes_.empty()) in_axes_.assign(num_scan_in_, 0);
      out_axes_ = info.GetInts("scan_output_axes");
      if (out_axes_.empty()) out_axes_.assign(num_scan_out_, 0);
      out_dirs_ = info.GetInts("scan_output_directions");
      if (out_dirs_.empty()) out_dirs_.assign(num_scan_out_, 0);
      if (in_axes_.size() != num_scan_in_ || out_axes_.size() != num_scan_out_ ||
          out_dirs_.size() != num_scan_out_)
        return info.Error(StatusCode::kInvalidModel,
                          "scan axes/directions lists must have one entry per scan input/output");
    } else {
      out_dirs_.assign(num_scan_out_, 0);
    }
    for (int64_t d : in_dirs_)
      if (d != 0 && d != 1)
        return info.Error(StatusCode::kInvalidModel, "direction must be 0 or 1");
    for (int64_t d : out_dirs_)
      if (d != 0 && d != 1)
        return info.Error(StatusCode::kInvalidModel, "direction must be 0 or 1");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    return v8_ ? ComputeV8(ctx) : ComputeV9(ctx);
  }

 private:
  Status InputTensor(const KernelContext& ctx, size_t i, const Tensor** t) const {
    if (!ctx.has_input(i) || !ctx.input_value(i)->is_tensor())
      return ctx.Error(StatusCode::kInvalidArgument,
                       "input " + std::to_string(i) + " must be a tensor");
    *t = &ctx.input(i);
    return Status::Ok();
  }

  // Runs iterations over scan inputs `xs` (already without batch axis), sequence axes `axes`,
  // `steps` iterations; states in/out; collects scan output slices.
  Status Iterate(const KernelContext& ctx, const std::vector<const Tensor*>& xs,
                 const std::vector<int64_t>& axes, int64_t steps, std::vector<Value>* states,
                 std::vector<std::vector<Tensor>>* slices) const {
    std::vector<Value> in_slices(num_scan_in_);
    std::vector<const Value*> inputs(num_state_ + num_scan_in_);
    std::vector<Value> outs;
    slices->assign(num_scan_out_, {});
    for (int64_t t = 0; t < steps; ++t) {
      for (size_t j = 0; j < num_scan_in_; ++j) {
        int64_t idx = in_dirs_[j] ? steps - 1 - t : t;
        TERN_ASSIGN_OR_RETURN(Tensor s, SliceAxis(*xs[j], axes[j], idx));
        in_slices[j] = Value(std::move(s));
      }
      for (size_t i = 0; i < num_state_; ++i) inputs[i] = &(*states)[i];
      for (size_t j = 0; j < num_scan_in_; ++j) inputs[num_state_ + j] = &in_slices[j];
      TERN_RETURN_IF_ERROR(body_.Run(ctx, inputs, &outs));
      for (size_t i = 0; i < num_state_; ++i) (*states)[i] = std::move(outs[i]);
      for (size_t k = 0; k < num_scan_out_; ++k) {
        const Value& v = outs[num_state_ + k];
        if (!v.is_tensor())
          return ctx.Error(StatusCode::kInvalidArgument, "scan outputs must be tensors");
        auto& list = (*slices)[k];
        if (!list.empty() &&
            (list[0].shape() != v.tensor.shape() || list[0].dtype() != v.tensor.dtype()))
          return ctx.Error(StatusCode::kInvalidArgument,
                           "scan output " + std::to_string(k) + " changes shape between steps");
        list.push_back(v.tensor);
      }
    }
    return Status::Ok();
  }

  Status ComputeV9(KernelContext& ctx) const {
    std::vector<Value> states(num_state_);
    for (size_t i = 0; i < num_state_; ++i) {
      const Value* v = ctx.input_value(i);
      if (!v || !v->is_tensor())
        return ctx.Error(StatusCode::kInvalidArgument, "state inputs must be tensors");
      states[i] = *v;
    }
    std::vector<const Tensor*> xs(num_scan_in_);
    std::vector<int64_t> axes(num_scan_in_);
    int64_t steps = -1;
    for (size_t j = 0; j < num_scan_in_; ++j) {
      TERN_RETURN_IF_ERROR(InputTensor(ctx, num_state_ + j, &xs[j]));
      TERN_ASSIGN_OR_RETURN(axes[j], NormalizeAxis(in_axes_[j], static_cast<int64_t>(xs[j]->rank()),
                                                   "scan_input_axes"));
      int64_t len = xs[j]->dim(axes[j]);
      if (steps >= 0 && len != steps)
        return ctx.Error(StatusCode::kInvalidArgument,
                         "scan inputs have different sequence lengths (" + std::to_string(steps) +
                             " and " + std::to_string(len) + ")");
      steps = len;
    }
    for (const Tensor* x : xs)
      if (x->numel() == 0 && steps > kMaxEmptyIterations)
        return ctx.Error(
            StatusCode::kResourceExhausted,
            "too many iterations (" + std::to_string(steps) + ") over an empty tensor");
    std::vector<std::vector<Tensor>> slices;
    TERN_RETURN_IF_ERROR(Iterate(ctx, xs, axes, steps, &states, &slices));
    for (size_t i = 0; i < num_state_ && i < ctx.num_outputs(); ++i) {
      if (!ctx.output_wanted(i)) continue;
      TERN_ASSIGN_OR_RETURN(Value v, OwnValue(states[i]));
      TERN_RETURN_IF_ERROR(ctx.SetOutput(i, std::move(v)));
    }
    for (size_t k = 0; k < num_scan_out_ && num_state_ + k < ctx.num_outputs(); ++k) {
      const size_t o = num_state_ + k;
      if (!ctx.output_wanted(o)) continue;
      const auto& list = slices[k];
      if (list.empty()) {
        const ir::TypeInfo& t = body_.output_type(num_state_ + k);
        TERN_ASSIGN_OR_RETURN(Tensor * out,
                              ctx.Output(o, DeclaredElemTypeOr32(t), EmptyStackShape(t)));
        (void)out;
        continue;
      }
      TERN_ASSIGN_OR_RETURN(int64_t axis,
                            NormalizeAxis(out_axes_[k], static_cast<int64_t>(list[0].rank()) + 1,
                                          "scan_output_axes"));
      const int64_t n = static_cast<int64_t>(list.size());
      TERN_ASSIGN_OR_RETURN(Tensor * out,
                            ctx.Output(o, list[0].dtype(), InsertDim(list[0].shape(), axis, n)));
      for (int64_t t = 0; t < n; ++t)
        PlaceSlice(out, axis, out_dirs_[k] ? n - 1 - t : t, list[static_cast<size_t>(t)]);
    }
    return Status::Ok();
  }

  Status ComputeV8(KernelContext& ctx) const {
    std::vector<const Tensor*> states_in(num_state_), xs_in(num_scan_in_);
    for (size_t i = 0; i < num_state_; ++i)
      TERN_RETURN_IF_ERROR(InputTensor(ctx, 1 + i, &states_in[i]));
    for (size_t j = 0; j < num_scan_in_; ++j)
      TERN_RETURN_IF_ERROR(InputTensor(ctx, 1 + num_state_ + j, &xs_in[j]));
    int64_t batch = -1, max_len = -1;
    for (const Tensor* t : states_in) {
      if (t->rank() < 1)
        return ctx.Error(StatusCode::kInvalidArgument, "state inputs need a batch axis");
      if (batch >= 0 && t->dim(0) != batch)
        return ctx.Error(StatusCode::kInvalidArgument, "batch sizes differ");
      batch = t->dim(0);
    }
    for (const Tensor* t : xs_in) {
      if (t->rank() < 2)
        return ctx.Error(StatusCode::kInvalidArgument, "scan inputs need batch and sequence axes");
      if ((batch >= 0 && t->dim(0) != batch) || (max_len >= 0 && t->dim(1) != max_len))
        return ctx.Error(StatusCode::kInvalidArgument, "scan input batch or sequence sizes differ");
      batch = t->dim(0);
      max_len = t->dim(1);
    }
    if (batch > kMaxEmptyIterations)
      return ctx.Error(StatusCode::kResourceExhausted,
                       "batch size " + std::to_string(batch) + " is too large");
    std::vector<int64_t> lens(static_cast<size_t>(batch), max_len);
    if (ctx.has_input(0)) {
      if (!ctx.input_value(0)->is_tensor())
        return ctx.Error(StatusCode::kInvalidArgument, "sequence_lens must be a tensor");
      TERN_ASSIGN_OR_RETURN(lens, ReadInts(ctx.input(0), "sequence_lens"));
      if (static_cast<int64_t>(lens.size()) != batch)
        return ctx.Error(StatusCode::kInvalidArgument, "sequence_lens must have batch_size values");
      for (int64_t l : lens)
        if (l < 0 || l > max_len)
          return ctx.Error(StatusCode::kOutOfRange, "sequence_lens value " + std::to_string(l) +
                                                        " is outside [0, " +
                                                        std::to_string(max_len) + "]");
    }
    // Results per batch item.
    std::vector<std::vector<Value>> states_b(static_cast<size_t>(batch));
    std::vector<std::vector<std::vector<Tensor>>> slices_b(static_cast<size_t>(batch));
    const std::vector<int64_t> axes(num_scan_in_, 0);
    for (int64_t b = 0; b < batch; ++b) {
      auto& states = states_b[static_cast<size_t>(b)];
      states.resize(num_state_);
      for (size_t i = 0; i < num_state_; ++i) {
        TERN_ASSIGN_OR_RETURN(Tensor s, SliceAxis(*states_in[i], 0, b));
        states[i] = Value(std::move(s));
      }
      std::vector<Tensor> xb(num_scan_in_);
      std::vector<const Tensor*> xs(num_scan_in_);
      for (size_t j = 0; j < num_scan_in_; ++j) {
        TERN_ASSIGN_OR_RETURN(xb[j], SliceAxis(*xs_in[j], 0, b));
        // Only the first lens[b] steps count; reverse scans start at lens[b] - 1.
        if (lens[static_cast<size_t>(b)] != max_len) {
          Shape s = xb[j].shape();
          s[0] = lens[static_cast<size_t>(b)];
          TERN_ASSIGN_OR_RETURN(Tensor cut, Tensor::Allocate(xb[j].dtype(), s));
          CopyElements(xb[j].dtype(), cut.raw(), 0, xb[j].raw(), 0, cut.numel());
          xb[j] = std::move(cut);
        }
        xs[j] = &xb[j];
      }
      TERN_RETURN_IF_ERROR(Iterate(ctx, xs, axes, lens[static_cast<size_t>(b)], &states,
                                   &slices_b[static_cast<size_t>(b)]));
    }
    for (size_t i = 0; i < num_state_ && 1 + i <= ctx.num_outputs(); ++i) {
      if (!ctx.output_wanted(i)) continue;
      Shape shape = states_in[i]->shape();
      const Tensor* first = batch > 0 ? &states_b[0][i].tensor : nullptr;
      if (first) shape = InsertDim(first->shape(), 0, batch);
      DataType dt = first ? first->dtype() : states_in[i]->dtype();
      for (int64_t b = 0; b < batch; ++b) {
        const Value& v = states_b[static_cast<size_t>(b)][i];
        if (!v.is_tensor() || v.tensor.shape() != first->shape() || v.tensor.dtype() != dt)
          return ctx.Error(StatusCode::kInvalidArgument, "state outputs differ between batches");
      }
      TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(i, dt, shape));
      for (int64_t b = 0; b < batch; ++b)
        PlaceSlice(out, 0, b, states_b[static_cast<size_t>(b)][i].tensor);
    }
    for (size_t k = 0; k < num_scan_out_ && num_state_ + k < ctx.num_outputs(); ++k) {
      const size_t o = num_state_ + k;
      if (!ctx.output_wanted(o)) continue;
      const Tensor* first = nullptr;
      for (const auto& sl : slices_b)
        if (!sl[k].empty()) {
          first = &sl[k][0];
          break;
        }
      if (!first) {
        const ir::TypeInfo& t = body_.output_type(num_state_ + k);
        Shape s = EmptyStackShape(t);
        s[0] = max_len;
        TERN_ASSIGN_OR_RETURN(Tensor * out,
                              ctx.Output(o, DeclaredElemTypeOr32(t), InsertDim(s, 0, batch)));
        ZeroElements(out->dtype(), out->raw(), 0, out->numel());
        continue;
      }
      Shape step_shape = InsertDim(first->shape(), 0, max_len);
      TERN_ASSIGN_OR_RETURN(Tensor * out,
                            ctx.Output(o, first->dtype(), InsertDim(step_shape, 0, batch)));
      const int64_t per_step = first->numel();
      for (int64_t b = 0; b < batch; ++b) {
        const auto& list = slices_b[static_cast<size_t>(b)][k];
        for (size_t t = 0; t < list.size(); ++t) {
          if (list[t].shape() != first->shape() || list[t].dtype() != first->dtype())
            return ctx.Error(StatusCode::kInvalidArgument, "scan outputs differ between batches");
          CopyElements(out->dtype(), out->raw(), (b * max_len + static_cast<int64_t>(t)) * per_step,
                       list[t].raw(), 0, per_step);
        }
        const int64_t done = static_cast<int64_t>(list.size());
        ZeroElements(out->dtype(), out->raw(), (b * max_len + done) * per_step,
                     (max_len - done) * per_step);
      }
    }
    return Status::Ok();
  }

  Subgraph body_;
  bool v8_ = false;
  size_t num_scan_in_ = 0, num_state_ = 0, num_scan_out_ = 0;
  std::vector<int64_t> in_dirs_, in_axes_, out_axes_, out_dirs_;
};

}  // namespace

void Register_scan(KernelRegistry& r) { r.Add("", "Scan", Create<ScanKernel>); }

}  // namespace tern::ref
