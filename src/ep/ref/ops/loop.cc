// Loop: runs its body while the trip count M (optional) and the condition (optional) allow.
// Loop-carried values may be tensors, sequences or optionals; scan outputs (tensors, one per
// iteration) are stacked along a new first axis.
#include "ep/ref/control_util.h"

namespace tern::ref {
namespace {

class LoopKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(LoadSubgraph(info, "body", &body_));
    if (info.num_inputs() < 2)
      return info.Error(StatusCode::kInvalidModel, "Loop needs inputs M and cond (may be empty)");
    num_carried_ = info.num_inputs() - 2;
    if (body_.num_inputs() != num_carried_ + 2)
      return info.Error(StatusCode::kInvalidModel,
                        "body must have " + std::to_string(num_carried_ + 2) + " inputs, has " +
                            std::to_string(body_.num_inputs()));
    if (body_.num_outputs() < num_carried_ + 1)
      return info.Error(StatusCode::kInvalidModel,
                        "body must have at least " + std::to_string(num_carried_ + 1) + " outputs");
    num_scan_ = body_.num_outputs() - 1 - num_carried_;
    if (info.num_outputs() > num_carried_ + num_scan_)
      return info.Error(StatusCode::kInvalidModel, "Loop has more outputs than its body provides");
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    // Trip count and condition.
    bool has_max = ctx.has_input(0);
    int64_t max_trips = 0;
    if (has_max) {
      const Value* m = ctx.input_value(0);
      if (!m->is_tensor() || m->tensor.numel() != 1 ||
          (m->tensor.dtype() != DataType::kInt64 && m->tensor.dtype() != DataType::kInt32))
        return ctx.Error(StatusCode::kInvalidArgument, "M must be an int64 scalar");
      TERN_ASSIGN_OR_RETURN(auto mv, ReadInts(m->tensor, "M"));
      max_trips = mv[0];
    }
    bool cond = true;
    const bool has_cond = ctx.has_input(1);
    if (has_cond) {
      TERN_ASSIGN_OR_RETURN(cond, ReadCond(ctx, *ctx.input_value(1), "cond"));
    }
    if (!has_max && !has_cond)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "Loop without trip count and condition would never end");

    std::vector<Value> carried(num_carried_);
    for (size_t i = 0; i < num_carried_; ++i) {
      const Value* v = ctx.input_value(2 + i);
      carried[i] = v ? *v : Value();
    }
    std::vector<std::vector<Tensor>> scans(num_scan_);
    TERN_ASSIGN_OR_RETURN(Tensor iter_t, Tensor::Allocate(DataType::kInt64, Shape{}));
    TERN_ASSIGN_OR_RETURN(Tensor cond_t, Tensor::Allocate(DataType::kBool, Shape{}));
    Value iter_v(iter_t), cond_v(cond_t);
    std::vector<const Value*> inputs(num_carried_ + 2);
    std::vector<Value> outs;
    for (int64_t it = 0; (!has_max || it < max_trips) && cond; ++it) {
      iter_v.tensor.data<int64_t>()[0] = it;
      cond_v.tensor.data<bool>()[0] = cond;
      inputs[0] = &iter_v;
      inputs[1] = &cond_v;
      for (size_t i = 0; i < num_carried_; ++i) inputs[2 + i] = &carried[i];
      TERN_RETURN_IF_ERROR(body_.Run(ctx, inputs, &outs));
      if (has_cond) {
        TERN_ASSIGN_OR_RETURN(cond, ReadCond(ctx, outs[0], "body output cond"));
      }
      for (size_t i = 0; i < num_carried_; ++i) carried[i] = std::move(outs[1 + i]);
      for (size_t k = 0; k < num_scan_; ++k) {
        const Value& s = outs[1 + num_carried_ + k];
        if (!s.is_tensor())
          return ctx.Error(StatusCode::kInvalidArgument,
                           "scan output " + std::to_string(k) + " must be a tensor");
        if (!scans[k].empty() &&
            (scans[k][0].dtype() != s.tensor.dtype() || scans[k][0].shape() != s.tensor.shape()))
          return ctx.Error(StatusCode::kInvalidArgument,
                           "scan output " + std::to_string(k) + " changes shape from " +
                               scans[k][0].shape().ToString() + " to " +
                               s.tensor.shape().ToString() + " between iterations");
        // Bound the memory that stacking will need before keeping another slice.
        TERN_RETURN_IF_ERROR(
            CheckShape(InsertDim(s.tensor.shape(), 0, static_cast<int64_t>(scans[k].size()) + 1),
                       s.tensor.dtype(), "Loop scan output"));
        scans[k].push_back(s.tensor);
      }
    }
    for (size_t i = 0; i < num_carried_ && i < ctx.num_outputs(); ++i) {
      if (!ctx.output_wanted(i)) continue;
      TERN_ASSIGN_OR_RETURN(Value v, OwnValue(carried[i]));
      TERN_RETURN_IF_ERROR(ctx.SetOutput(i, std::move(v)));
    }
    for (size_t k = 0; k < num_scan_ && num_carried_ + k < ctx.num_outputs(); ++k) {
      const size_t o = num_carried_ + k;
      if (!ctx.output_wanted(o)) continue;
      const auto& items = scans[k];
      if (items.empty()) {
        const ir::TypeInfo& t = body_.output_type(1 + num_carried_ + k);
        TERN_ASSIGN_OR_RETURN(Tensor * out,
                              ctx.Output(o, DeclaredElemTypeOr32(t), EmptyStackShape(t)));
        (void)out;
        continue;
      }
      Shape shape = InsertDim(items[0].shape(), 0, static_cast<int64_t>(items.size()));
      TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(o, items[0].dtype(), shape));
      for (size_t j = 0; j < items.size(); ++j)
        PlaceSlice(out, 0, static_cast<int64_t>(j), items[j]);
    }
    return Status::Ok();
  }

 private:
  static Result<bool> ReadCond(const KernelContext& ctx, const Value& v, const char* what) {
    if (!v.is_tensor() || v.tensor.numel() != 1 || v.tensor.dtype() != DataType::kBool)
      return ctx.Error(StatusCode::kInvalidArgument, std::string(what) + " must be a bool scalar");
    return v.tensor.data<bool>()[0];
  }

  Subgraph body_;
  size_t num_carried_ = 0;
  size_t num_scan_ = 0;
};

}  // namespace

void Register_loop(KernelRegistry& r) { r.Add("", "Loop", Create<LoopKernel>); }

}  // namespace tern::ref
