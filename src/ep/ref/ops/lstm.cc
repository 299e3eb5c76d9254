// LSTM with gates i (input), o (output), f (forget), c (cell), optional peepholes P = [Pi, Po, Pf]
// and input_forget (f = 1 - i). Opsets 1-6 are accepted too: their output_sequence attribute only
// said whether Y may be omitted, and Y is computed whenever the model uses it.
#include "ep/ref/rnn_util.h"

namespace tern::ref {
namespace {

class LstmKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(ParseRnnAttrs(info, 4, {"Sigmoid", "Tanh", "Tanh"}, &attrs_));
    input_forget_ = info.GetInt("input_forget", 0) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "X is required");
    return Visit<kFloats>(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      using A = AccT<T>;
      std::vector<A> rh;
      auto cell = [&](int dir, const RnnData<A>& d, const A* xw, A* h, A* c) {
        const int64_t H = d.hidden;
        rh.resize(static_cast<size_t>(4 * H));
        MatVec(d.r.data() + dir * 4 * H * H, h, 4 * H, H, rh.data());
        const A* rb = d.b.data() + dir * 8 * H + 4 * H;
        const A* p = d.p.data() + dir * 3 * H;
        const RnnActivation& f = attrs_.acts[static_cast<size_t>(dir * 3)];
        const RnnActivation& g = attrs_.acts[static_cast<size_t>(dir * 3 + 1)];
        const RnnActivation& hact = attrs_.acts[static_cast<size_t>(dir * 3 + 2)];
        for (int64_t j = 0; j < H; ++j) {
          auto pre = [&](int gate) {
            return xw[gate * H + j] + rh[gate * H + j] + rb[gate * H + j];
          };
          const A c_prev = c[j];
          const A i = f(RnnClip(attrs_, pre(0) + p[j] * c_prev));
          const A fg =
              input_forget_ ? A(1) - i : f(RnnClip(attrs_, pre(2) + p[2 * H + j] * c_prev));
          const A ct = g(RnnClip(attrs_, pre(3)));
          const A c_new = fg * c_prev + i * ct;
          const A o = f(RnnClip(attrs_, pre(1) + p[H + j] * c_new));
          c[j] = c_new;
          h[j] = o * hact(c_new);
        }
      };
      return RunRnn<T>(ctx, attrs_, true, cell);
    });
  }

 private:
  RnnAttrs attrs_;
  bool input_forget_ = false;
};

}  // namespace

void Register_lstm(KernelRegistry& r) { r.Add("", "LSTM", Create<LstmKernel>, 1); }

}  // namespace tern::ref
