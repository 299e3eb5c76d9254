// If: runs then_branch or else_branch depending on a boolean scalar; the branch's outputs (tensors,
// sequences or optionals) become the node's outputs.
#include "ep/ref/control_util.h"

namespace tern::ref {
namespace {

class IfKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(LoadSubgraph(info, "then_branch", &then_));
    TERN_RETURN_IF_ERROR(LoadSubgraph(info, "else_branch", &else_));
    const size_t n = info.num_outputs();
    if (then_.num_outputs() != n || else_.num_outputs() != n)
      return info.Error(StatusCode::kInvalidModel,
                        "then_branch and else_branch must have as many outputs as the node (" +
                            std::to_string(n) + ")");
    if (then_.num_inputs() != 0 || else_.num_inputs() != 0) {
      // Branches take no inputs; initializers listed as inputs keep their defaults.
      for (const Subgraph* g : {&then_, &else_})
        for (int v : g->graph->inputs)
          if (!g->graph->values[v].is_initializer)
            return info.Error(StatusCode::kInvalidModel, "If branches must not have inputs");
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0) || !ctx.input_value(0)->is_tensor())
      return ctx.Error(StatusCode::kInvalidArgument, "cond must be a tensor");
    const Tensor& cond = ctx.input(0);
    if (cond.dtype() != DataType::kBool)
      return ctx.Error(StatusCode::kInvalidArgument, "cond must be bool");
    if (cond.numel() != 1)
      return ctx.Error(StatusCode::kInvalidArgument,
                       "cond must have exactly one element, got shape " + cond.shape().ToString());
    const Subgraph& branch = cond.data<bool>()[0] ? then_ : else_;
    std::vector<Value> outs;
    TERN_RETURN_IF_ERROR(branch.Run(ctx, {}, &outs));
    for (size_t i = 0; i < outs.size(); ++i)
      if (ctx.output_wanted(i)) TERN_RETURN_IF_ERROR(ctx.SetOutput(i, std::move(outs[i])));
    return Status::Ok();
  }

 private:
  Subgraph then_;
  Subgraph else_;
};

}  // namespace

void Register_if_op(KernelRegistry& r) { r.Add("", "If", Create<IfKernel>); }

}  // namespace tern::ref
