// RNN (simple recurrent network): H_t = f(X_t·W^T + H_{t-1}·R^T + Wb + Rb).
#include "ep/ref/rnn_util.h"

namespace tern::ref {
namespace {

class RnnKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) { return ParseRnnAttrs(info, 1, {"Tanh"}, &attrs_); }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "X is required");
    return Visit<kFloats>(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      using A = AccT<T>;
      std::vector<A> rh;
      auto cell = [&](int dir, const RnnData<A>& d, const A* xw, A* h, A*) {
        const int64_t H = d.hidden;
        rh.resize(static_cast<size_t>(H));
        MatVec(d.r.data() + dir * H * H, h, H, H, rh.data());
        const A* rb = d.b.data() + dir * 2 * H + H;
        const RnnActivation& f = attrs_.acts[static_cast<size_t>(dir)];
        for (int64_t j = 0; j < H; ++j) h[j] = f(RnnClip(attrs_, xw[j] + rh[j] + rb[j]));
      };
      return RunRnn<T>(ctx, attrs_, false, cell);
    });
  }

 private:
  RnnAttrs attrs_;
};

}  // namespace

void Register_rnn(KernelRegistry& r) { r.Add("", "RNN", Create<RnnKernel>, 1); }

}  // namespace tern::ref
