// SequenceMap: runs its body once per element of the input sequence. Additional inputs that are
// sequences are indexed alongside (they must have the same length); tensors are passed whole.
// Each body output is collected into an output sequence.
#include "ep/ref/control_util.h"

namespace tern::ref {
namespace {

class SequenceMapKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(LoadSubgraph(info, "body", &body_));
    if (info.num_inputs() < 1 || body_.num_inputs() != info.num_inputs())
      return info.Error(StatusCode::kInvalidModel, "body must have one input per node input");
    if (body_.num_outputs() < info.num_outputs())
      return info.Error(StatusCode::kInvalidModel, "body has fewer outputs than the node");
    for (size_t k = 0; k < info.num_outputs(); ++k) {
      // Element type for an empty result: the node's declared output type, else the body's.
      DataType dt = DataType::kUndefined;
      if (info.has_output(k))
        dt = DeclaredElemType(info.graph().values[info.node().outputs[k]].type);
      if (dt == DataType::kUndefined) dt = DeclaredElemTypeOr32(body_.output_type(k));
      out_types_.push_back(dt);
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Value* seq = ctx.input_value(0);
    if (!seq || !seq->is_sequence())
      return ctx.Error(StatusCode::kInvalidArgument, "input_sequence must be a sequence");
    const size_t n = seq->sequence.size();
    const size_t ni = ctx.num_inputs();
    for (size_t i = 1; i < ni; ++i) {
      const Value* v = ctx.input_value(i);
      if (!v || v->is_none())
        return ctx.Error(StatusCode::kInvalidArgument,
                         "additional input " + std::to_string(i) + " is missing");
      if (v->is_sequence() && v->sequence.size() != n)
        return ctx.Error(StatusCode::kInvalidArgument, "sequence input " + std::to_string(i) +
                                                           " has " +
                                                           std::to_string(v->sequence.size()) +
                                                           " items, expected " + std::to_string(n));
    }
    std::vector<std::vector<Tensor>> results(ctx.num_outputs());
    std::vector<Value> items(ni);
    std::vector<const Value*> inputs(ni);
    std::vector<Value> outs;
    for (size_t e = 0; e < n; ++e) {
      for (size_t i = 0; i < ni; ++i) {
        const Value* v = ctx.input_value(i);
        if (v->is_sequence()) {
          items[i] = Value(v->sequence[e]);
          inputs[i] = &items[i];
        } else {
          inputs[i] = v;
        }
      }
      TERN_RETURN_IF_ERROR(body_.Run(ctx, inputs, &outs));
      for (size_t k = 0; k < results.size(); ++k) {
        if (!outs[k].is_tensor())
          return ctx.Error(StatusCode::kInvalidArgument, "body outputs must be tensors");
        results[k].push_back(std::move(outs[k].tensor));
      }
    }
    for (size_t k = 0; k < results.size(); ++k) {
      if (!ctx.output_wanted(k)) continue;
      DataType dt = results[k].empty() ? out_types_[k] : results[k][0].dtype();
      TERN_RETURN_IF_ERROR(ctx.SetOutput(k, Value::Sequence(std::move(results[k]), dt)));
    }
    return Status::Ok();
  }

 private:
  Subgraph body_;
  std::vector<DataType> out_types_;
};

}  // namespace

void Register_sequence_map(KernelRegistry& r) {
  r.Add("", "SequenceMap", Create<SequenceMapKernel>, 17);
}

}  // namespace tern::ref
