// Shared parts of the recurrent reference kernels (RNN, GRU, LSTM): attribute parsing
// (direction, hidden_size, activations with alpha/beta, clip, layout), input validation and the
// time/direction/batch loop with sequence_lens. Each op supplies only its cell update.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ep/ref/ref_common.h"

namespace tern::ref {

/// One activation function with its parameters.
struct RnnActivation {
  enum class Kind {
    kRelu,
    kTanh,
    kSigmoid,
    kAffine,
    kLeakyRelu,
    kThresholdedRelu,
    kScaledTanh,
    kHardSigmoid,
    kElu,
    kSoftsign,
    kSoftplus
  };
  Kind kind = Kind::kSigmoid;
  float alpha = 0;
  float beta = 0;

  template <typename A>
  A operator()(A x) const {
    switch (kind) {
      case Kind::kRelu:
        return x > A(0) ? x : A(0);
      case Kind::kTanh:
        return std::tanh(x);
      case Kind::kSigmoid:
        return A(1) / (A(1) + std::exp(-x));
      case Kind::kAffine:
        return A(alpha) * x + A(beta);
      case Kind::kLeakyRelu:
        return x >= A(0) ? x : A(alpha) * x;
      case Kind::kThresholdedRelu:
        return x > A(alpha) ? x : A(0);
      case Kind::kScaledTanh:
        return A(alpha) * std::tanh(A(beta) * x);
      case Kind::kHardSigmoid:
        return std::max(A(0), std::min(A(1), A(alpha) * x + A(beta)));
      case Kind::kElu:
        return x >= A(0) ? x : A(alpha) * (std::exp(x) - A(1));
      case Kind::kSoftsign:
        return x / (A(1) + std::fabs(x));
      case Kind::kSoftplus:
        return std::log1p(std::exp(x));
    }
    return x;
  }
};

/// Attributes shared by RNN, GRU and LSTM.
struct RnnAttrs {
  int num_gates = 1;  ///< 1 (RNN), 3 (GRU), 4 (LSTM)
  int num_directions = 1;
  bool reverse = false;      ///< direction == "reverse"
  int64_t hidden_size = -1;  ///< -1: taken from R
  int layout = 0;
  bool has_clip = false;
  float clip = 0;
  std::vector<RnnActivation> acts;  ///< acts_per_dir * num_directions
  int acts_per_dir = 1;
};

/// Parses the common attributes; `defaults` are the activations of one direction.
Status ParseRnnAttrs(const KernelInfo& info, int num_gates,
                     const std::vector<std::string>& defaults, RnnAttrs* out);

/// Inputs of a recurrent op converted to the accumulation type, normalised to layout 0.
template <typename A>
struct RnnData {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0;
  int nd = 1;
  std::vector<A> x;           ///< [seq][batch][input]
  std::vector<A> w;           ///< [nd][G*H][input]
  std::vector<A> r;           ///< [nd][G*H][H]
  std::vector<A> b;           ///< [nd][2*G*H] (zeros when absent)
  std::vector<A> p;           ///< [nd][3*H] (LSTM; zeros when absent)
  std::vector<int64_t> lens;  ///< [batch]
  std::vector<A> h0, c0;      ///< [nd][batch][H]
};

/// Validates inputs (X, W, R, B, sequence_lens, initial_h, [initial_c, P]) and loads them.
/// `lstm` adds initial_c (input 6) and P (input 7).
template <typename T>
Status LoadRnnInputs(const KernelContext& ctx, const RnnAttrs& attrs, bool lstm,
                     RnnData<AccT<T>>* d);

/// Writes Y (output 0), Y_h (1) and, when given, Y_c (2) from layout-0 buffers
/// y [seq][nd][batch][H], yh/yc [nd][batch][H].
template <typename T>
Status WriteRnnOutputs(KernelContext& ctx, const RnnAttrs& attrs, const RnnData<AccT<T>>& d,
                       const std::vector<AccT<T>>& y, const std::vector<AccT<T>>& yh,
                       const std::vector<AccT<T>>* yc);

/// Computes out[g*H + j] = sum_k m[(g*H + j)*cols + k] * v[k] for rows [0, rows).
template <typename A>
void MatVec(const A* m, const A* v, int64_t rows, int64_t cols, A* out) {
  for (int64_t i = 0; i < rows; ++i) {
    A s = A(0);
    const A* row = m + i * cols;
    for (int64_t k = 0; k < cols; ++k) s += row[k] * v[k];
    out[i] = s;
  }
}

/// Runs the recurrence. `cell(dir, xw, h, c)` updates the hidden state h[H] (and cell state c[H]
/// for LSTM, else nullptr) from xw[G*H] = W·x_t + Wb for one batch item and time step.
template <typename T, typename Cell>
Status RunRnn(KernelContext& ctx, const RnnAttrs& attrs, bool lstm, Cell&& cell) {
  using A = AccT<T>;
  RnnData<A> d;
  TERN_RETURN_IF_ERROR(LoadRnnInputs<T>(ctx, attrs, lstm, &d));
  const int64_t H = d.hidden, G = attrs.num_gates, N = d.batch, S = d.seq, I = d.input;
  std::vector<A> y(static_cast<size_t>(S * d.nd * N * H), A(0));
  std::vector<A> yh(static_cast<size_t>(d.nd * N * H), A(0));
  std::vector<A> yc(lstm ? yh.size() : 0, A(0));
  std::vector<A> xw(static_cast<size_t>(G * H));
  std::vector<A> h(static_cast<size_t>(H)), c(static_cast<size_t>(H));
  for (int dir = 0; dir < d.nd; ++dir) {
    const bool rev = attrs.reverse || dir == 1;
    const A* w = d.w.data() + dir * G * H * I;
    const A* wb = d.b.data() + dir * 2 * G * H;
    for (int64_t n = 0; n < N; ++n) {
      const size_t state = static_cast<size_t>((dir * N + n) * H);
      std::copy(d.h0.begin() + state, d.h0.begin() + state + H, h.begin());
      if (lstm) std::copy(d.c0.begin() + state, d.c0.begin() + state + H, c.begin());
      const int64_t len = d.lens[static_cast<size_t>(n)];
      for (int64_t k = 0; k < len; ++k) {
        const int64_t t = rev ? len - 1 - k : k;
        MatVec(w, d.x.data() + (t * N + n) * I, G * H, I, xw.data());
        for (int64_t i = 0; i < G * H; ++i) xw[i] += wb[i];
        cell(dir, d, xw.data(), h.data(), lstm ? c.data() : nullptr);
        std::copy(h.begin(), h.end(), y.begin() + ((t * d.nd + dir) * N + n) * H);
      }
      std::copy(h.begin(), h.end(), yh.begin() + state);
      if (lstm) std::copy(c.begin(), c.end(), yc.begin() + state);
    }
  }
  return WriteRnnOutputs<T>(ctx, attrs, d, y, yh, lstm ? &yc : nullptr);
}

/// Clips x to [-clip, clip] when clipping is enabled.
template <typename A>
A RnnClip(const RnnAttrs& a, A x) {
  if (!a.has_clip) return x;
  return std::max(A(-a.clip), std::min(A(a.clip), x));
}

}  // namespace tern::ref
