// GRU with gates z (update), r (reset), h (hidden); linear_before_reset selects whether the reset
// gate is applied after (1) or before (0) the recurrent matrix multiply of the hidden gate.
#include "ep/ref/rnn_util.h"

namespace tern::ref {
namespace {

class GruKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    TERN_RETURN_IF_ERROR(ParseRnnAttrs(info, 3, {"Sigmoid", "Tanh"}, &attrs_));
    linear_before_reset_ = info.GetInt("linear_before_reset", 0) != 0;
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    if (!ctx.has_input(0)) return ctx.Error(StatusCode::kInvalidArgument, "X is required");
    return Visit<kFloats>(ctx.input(0).dtype(), [&](auto tag) {
      using T = decltype(tag);
      using A = AccT<T>;
      std::vector<A> rh, z, rhid;
      auto cell = [&](int dir, const RnnData<A>& d, const A* xw, A* h, A*) {
        const int64_t H = d.hidden;
        rh.resize(static_cast<size_t>(3 * H));
        z.resize(static_cast<size_t>(H));
        rhid.resize(static_cast<size_t>(H));
        const A* r = d.r.data() + dir * 3 * H * H;
        const A* rb = d.b.data() + dir * 6 * H + 3 * H;
        const RnnActivation& f = attrs_.acts[static_cast<size_t>(dir * 2)];
        const RnnActivation& g = attrs_.acts[static_cast<size_t>(dir * 2 + 1)];
        // z and r gates use R·h; the hidden gate's product depends on linear_before_reset.
        MatVec(r, h, 2 * H, H, rh.data());
        std::vector<A>& rgate = rhid;  // reset gate values
        for (int64_t j = 0; j < H; ++j) {
          z[j] = f(RnnClip(attrs_, xw[j] + rh[j] + rb[j]));
          rgate[j] = f(RnnClip(attrs_, xw[H + j] + rh[H + j] + rb[H + j]));
        }
        A* hh = rh.data() + 2 * H;
        if (linear_before_reset_) {
          MatVec(r + 2 * H * H, h, H, H, hh);
          for (int64_t j = 0; j < H; ++j) hh[j] = rgate[j] * (hh[j] + rb[2 * H + j]);
        } else {
          // rh[0..H) is free now: holds r ⊙ h.
          for (int64_t j = 0; j < H; ++j) rh[j] = rgate[j] * h[j];
          MatVec(r + 2 * H * H, rh.data(), H, H, hh);
          for (int64_t j = 0; j < H; ++j) hh[j] += rb[2 * H + j];
        }
        for (int64_t j = 0; j < H; ++j) {
          const A ht = g(RnnClip(attrs_, xw[2 * H + j] + hh[j]));
          h[j] = (A(1) - z[j]) * ht + z[j] * h[j];
        }
      };
      return RunRnn<T>(ctx, attrs_, false, cell);
    });
  }

 private:
  RnnAttrs attrs_;
  bool linear_before_reset_ = false;
};

}  // namespace

void Register_gru(KernelRegistry& r) { r.Add("", "GRU", Create<GruKernel>, 1); }

}  // namespace tern::ref
