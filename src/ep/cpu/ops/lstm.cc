// LSTM on the cpu provider (float32, constant W/R/B/P, default activations sigmoid/tanh/tanh,
// no input_forget; anything else falls back to ref). At load the weights are transposed to
// k-major [K][4H] for the gemv microkernel, W is also packed for the GEMM driver, and the two
// biases are summed. Per run: the input projection X·Wᵀ + b for every time step at once through
// the GEMM driver when there are enough rows (S·N >= kGemmRows), else one gemv per step; then per
// step and batch item the recurrent gemv h·Rᵀ and the fused cell microkernel. Scratch lives in
// per-thread buffers that only grow, so steady-state runs do not allocate.
#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

#include "ep/cpu/cpu_common.h"
#include "ep/cpu/ukernels/rnn/f32_rnn.h"

namespace tern::cpu {
namespace {

constexpr size_t kGemmRows = 4;  ///< below this many rows the projection is a gemv per row

struct LstmScratch {
  std::vector<float> xw, gates, h, c;
};
thread_local LstmScratch t_lstm;

std::string Lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

/// m [rows][cols] row-major to [cols][rows].
std::vector<float> Transposed(const float* m, size_t rows, size_t cols) {
  std::vector<float> t(rows * cols);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) t[c * rows + r] = m[r * cols + c];
  return t;
}

class LstmKernel : public OpKernel {
 public:
  Status Init(const KernelInfo& info) {
    // X has W's type (one type parameter T), so a float32 W settles an X inference left unknown.
    const Tensor* w = info.constant_input(1);
    const Tensor* r = info.constant_input(2);
    if (!w || !r) return NotImplemented("W and R must be constants");
    if (w->dtype() != DataType::kFloat32 || r->dtype() != DataType::kFloat32)
      return NotImplemented("only float32 runs on cpu");
    const std::string dir = info.GetString("direction", "forward");
    if (dir == "bidirectional") nd_ = 2;
    else if (dir == "reverse") reverse_ = true;
    else if (dir != "forward") return NotImplemented("direction '" + dir + "'");
    layout_ = info.GetInt("layout", 0);
    if (layout_ != 0 && layout_ != 1) return NotImplemented("layout must be 0 or 1");
    if (info.GetInt("input_forget", 0) != 0) return NotImplemented("input_forget");
    if (info.has_attr("clip")) {
      clip_ = info.GetFloat("clip", 0);
      if (!(clip_ > 0)) return NotImplemented("clip must be positive");
    }
    const std::vector<std::string> acts = info.GetStrings("activations");
    for (size_t i = 0; i < acts.size(); ++i) {
      static const char* kDefault[3] = {"sigmoid", "tanh", "tanh"};
      if (Lower(acts[i]) != kDefault[i % 3])
        return NotImplemented("activation '" + acts[i] + "' (cpu runs sigmoid, tanh, tanh)");
    }
    if (w->rank() != 3 || r->rank() != 3 || w->dim(0) != nd_ || r->dim(0) != nd_)
      return NotImplemented("unexpected W/R shapes " + w->shape().ToString() + ", " +
                            r->shape().ToString());
    hidden_ = static_cast<size_t>(r->dim(2));
    input_ = static_cast<size_t>(w->dim(2));
    const size_t H = hidden_, G = 4 * H, I = input_;
    if (info.has_attr("hidden_size") && info.GetInt("hidden_size", -1) != r->dim(2))
      return NotImplemented("hidden_size does not match R");
    if (H == 0 || w->dim(1) != static_cast<int64_t>(G) || r->dim(1) != static_cast<int64_t>(G))
      return NotImplemented("unexpected W/R shapes " + w->shape().ToString() + ", " +
                            r->shape().ToString());
    const Tensor* b = info.has_input(3) ? info.constant_input(3) : nullptr;
    if (info.has_input(3) &&
        (!b || b->dtype() != DataType::kFloat32 || b->shape() != Shape{nd_, 2 * static_cast<int64_t>(G)}))
      return NotImplemented("B must be a float32 constant of shape [dirs, 8*hidden]");
    const Tensor* p = info.has_input(7) ? info.constant_input(7) : nullptr;
    if (info.has_input(7) &&
        (!p || p->dtype() != DataType::kFloat32 || p->shape() != Shape{nd_, 3 * static_cast<int64_t>(H)}))
      return NotImplemented("P must be a float32 constant of shape [dirs, 3*hidden]");
    const F32GemmUkernelInfo& uk = GemmUkernel();
    dirs_.resize(static_cast<size_t>(nd_));
    for (size_t d = 0; d < dirs_.size(); ++d) {
      Direction& dd = dirs_[d];
      const float* wd = w->data<float>() + d * G * I;
      dd.wt = Transposed(wd, G, I);
      dd.rt = Transposed(r->data<float>() + d * G * H, G, H);
      dd.w_packed = PackB(wd, I, G, I, /*trans=*/true, uk);
      dd.bias.assign(G, 0.0f);
      if (b) {
        const float* bd = b->data<float>() + d * 2 * G;
        for (size_t j = 0; j < G; ++j) dd.bias[j] = bd[j] + bd[G + j];
      }
      if (p) dd.peephole.assign(p->data<float>() + d * 3 * H, p->data<float>() + (d + 1) * 3 * H);
    }
    return Status::Ok();
  }

  Status Compute(KernelContext& ctx) const override {
    const Tensor& X = ctx.input(0);
    if (X.dtype() != DataType::kFloat32 || X.rank() != 3 ||
        X.dim(2) != static_cast<int64_t>(input_))
      return ctx.Error(StatusCode::kInvalidArgument,
                       "X must be float32 [seq, batch, " + std::to_string(input_) + "], got " +
                           DataTypeName(X.dtype()) + X.shape().ToString());
    const int64_t S = layout_ == 0 ? X.dim(0) : X.dim(1);
    const int64_t N = layout_ == 0 ? X.dim(1) : X.dim(0);
    const int64_t H = static_cast<int64_t>(hidden_), nd = nd_;
    const size_t G = 4 * hidden_, I = input_;
    // Element offsets by layout: X rows, Y rows and state rows.
    auto x_row = [&](int64_t t, int64_t n) { return layout_ == 0 ? t * N + n : n * S + t; };
    auto y_off = [&](int64_t t, int64_t d, int64_t n) {
      return (layout_ == 0 ? (t * nd + d) * N + n : (n * S + t) * nd + d) * H;
    };
    auto state_off = [&](int64_t d, int64_t n) {
      return (layout_ == 0 ? d * N + n : n * nd + d) * H;
    };
    const Shape state_shape = layout_ == 0 ? Shape{nd, N, H} : Shape{N, nd, H};
    const float* h0 = nullptr;
    const float* c0 = nullptr;
    for (size_t idx : {size_t{5}, size_t{6}}) {
      if (!ctx.has_input(idx)) continue;
      const Tensor& t = ctx.input(idx);
      if (t.dtype() != DataType::kFloat32 || t.shape() != state_shape)
        return ctx.Error(StatusCode::kInvalidArgument,
                         std::string(idx == 5 ? "initial_h" : "initial_c") + " must be float32 " +
                             state_shape.ToString() + ", got " + t.shape().ToString());
      (idx == 5 ? h0 : c0) = t.data<float>();
    }
    const Tensor* lens = ctx.has_input(4) ? &ctx.input(4) : nullptr;
    if (lens) {
      if (lens->rank() != 1 || lens->dim(0) != N ||
          (lens->dtype() != DataType::kInt32 && lens->dtype() != DataType::kInt64))
        return ctx.Error(StatusCode::kInvalidArgument,
                         "sequence_lens must be int32 [" + std::to_string(N) + "], got " +
                             lens->shape().ToString());
      for (int64_t n = 0; n < N; ++n) {
        const int64_t l = SeqLen(lens, n, S);
        if (l < 0 || l > S)
          return ctx.Error(StatusCode::kOutOfRange, "sequence_lens value " + std::to_string(l) +
                                                        " is outside [0, " + std::to_string(S) +
                                                        "]");
      }
    }
    float* y = nullptr;
    float* yh = nullptr;
    float* yc = nullptr;
    if (ctx.output_wanted(0)) {
      const Shape ys = layout_ == 0 ? Shape{S, nd, N, H} : Shape{N, S, nd, H};
      TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(0, DataType::kFloat32, ys));
      y = out->data<float>();
      // Steps past a batch item's length stay zero.
      if (lens && out->nbytes()) std::memset(y, 0, out->nbytes());
    }
    if (ctx.output_wanted(1)) {
      TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(1, DataType::kFloat32, state_shape));
      yh = out->data<float>();
    }
    if (ctx.output_wanted(2)) {
      TERN_ASSIGN_OR_RETURN(Tensor * out, ctx.Output(2, DataType::kFloat32, state_shape));
      yc = out->data<float>();
    }
    const size_t rows = static_cast<size_t>(S * N);
    if (rows == 0 && !yh && !yc) return Status::Ok();
    const F32RnnUkernels& uk = BestF32RnnUkernels();
    LstmScratch& s = t_lstm;
    const bool gemm = rows >= kGemmRows;
    if (s.gates.size() < G) s.gates.resize(G);
    if (s.h.size() < hidden_) {
      s.h.resize(hidden_);
      s.c.resize(hidden_);
    }
    if (gemm && s.xw.size() < rows * G) s.xw.resize(rows * G);
    const float* x = X.data<float>();
    for (int64_t d = 0; d < nd; ++d) {
      const Direction& dd = dirs_[static_cast<size_t>(d)];
      const bool rev = reverse_ || d == 1;
      if (gemm) {
        GemmProblem p;
        p.m = rows;
        p.n = G;
        p.k = I;
        p.a = x;
        p.lda = I;
        p.b_packed = &dd.w_packed;
        p.c = s.xw.data();
        p.ldc = G;
        p.epilogue.bias = dd.bias.data();
        p.epilogue.bias_per_row = false;
        RunGemm(p, GemmUkernel(), ctx.thread_pool());
      }
      LstmCellArgs cell;
      cell.peephole = dd.peephole.empty() ? nullptr : dd.peephole.data();
      cell.clip = clip_;
      cell.gates = s.gates.data();
      cell.h = s.h.data();
      cell.c = s.c.data();
      cell.hidden = hidden_;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t so = state_off(d, n);
        if (h0) std::copy(h0 + so, h0 + so + H, s.h.begin());
        else std::fill(s.h.begin(), s.h.begin() + H, 0.0f);
        if (c0) std::copy(c0 + so, c0 + so + H, s.c.begin());
        else std::fill(s.c.begin(), s.c.begin() + H, 0.0f);
        const int64_t len = SeqLen(lens, n, S);
        for (int64_t k = 0; k < len; ++k) {
          const int64_t t = rev ? len - 1 - k : k;
          const size_t row = static_cast<size_t>(x_row(t, n));
          if (gemm) {
            std::copy(s.xw.begin() + row * G, s.xw.begin() + (row + 1) * G, s.gates.begin());
          } else {
            std::copy(dd.bias.begin(), dd.bias.end(), s.gates.begin());
            uk.gemv(1, x + row * I, I, dd.wt.data(), I, G, s.gates.data(), G);
          }
          uk.gemv(1, s.h.data(), hidden_, dd.rt.data(), hidden_, G, s.gates.data(), G);
          uk.lstm_cell(cell);
          if (y) std::copy(s.h.begin(), s.h.begin() + H, y + y_off(t, d, n));
        }
        if (yh) std::copy(s.h.begin(), s.h.begin() + H, yh + so);
        if (yc) std::copy(s.c.begin(), s.c.begin() + H, yc + so);
      }
    }
    return Status::Ok();
  }

 private:
  struct Direction {
    std::vector<float> wt;  ///< [I][4H]
    std::vector<float> rt;  ///< [H][4H]
    PackedMatrix w_packed;  ///< W as the GEMM's B operand (K = I, N = 4H)
    std::vector<float> bias;      ///< Wb + Rb, [4H]
    std::vector<float> peephole;  ///< [3H] or empty
  };

  static int64_t SeqLen(const Tensor* lens, int64_t n, int64_t seq) {
    if (!lens) return seq;
    return lens->dtype() == DataType::kInt32 ? lens->data<int32_t>()[n] : lens->data<int64_t>()[n];
  }

  int64_t nd_ = 1;
  bool reverse_ = false;
  int64_t layout_ = 0;
  float clip_ = 0;
  size_t hidden_ = 0, input_ = 0;
  std::vector<Direction> dirs_;
};

}  // namespace

void Register_lstm(KernelRegistry& r) { r.Add("", "LSTM", Create<LstmKernel>, 7); }

}  // namespace tern::cpu
