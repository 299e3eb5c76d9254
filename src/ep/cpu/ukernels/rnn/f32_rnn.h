// f32 microkernels of the recurrent ops: a matrix-vector product over a weight matrix stored
// transposed (k-major; also used by 1-D convolutions with few output positions), and the LSTM
// cell update (gate activations, cell and hidden state).
// Names follow f32_<family>__<isa>; one ISA per file, chosen at run time (TERN_ISA caps it).
#pragma once

#include <cstddef>

#include "core/cpu_features.h"

namespace tern::cpu {

/// For each row r < rows: y[r*ldy + j] += sum over kk < k of x[r*ldx + kk] * wt[kk*n + j], j < n.
/// A few rows at once (up to 4 per pass over wt) read the weights once for all of them.
using F32GemvUkernel = void (*)(size_t rows, const float* x, size_t ldx, const float* wt, size_t k,
                                size_t n, float* y, size_t ldy);

/// One LSTM step for one batch item with the default activations (f = sigmoid, g = h = tanh).
/// `gates` holds the pre-activations i, o, f, c (H each, biases and recurrent terms added);
/// `peephole` is P = [Pi, Po, Pf] (H each) or nullptr; `clip` > 0 clips every pre-activation to
/// [-clip, clip]. Updates c (H) in place and writes h (H).
struct LstmCellArgs {
  const float* gates = nullptr;
  const float* peephole = nullptr;
  float clip = 0;
  float* c = nullptr;
  float* h = nullptr;
  size_t hidden = 0;
};
using F32LstmCellUkernel = void (*)(const LstmCellArgs& a);

void f32_gemv__scalar(size_t rows, const float* x, size_t ldx, const float* wt, size_t k, size_t n,
                      float* y, size_t ldy);
void f32_gemv__avx2(size_t rows, const float* x, size_t ldx, const float* wt, size_t k, size_t n,
                    float* y, size_t ldy);
void f32_lstm_cell__scalar(const LstmCellArgs& a);
void f32_lstm_cell__avx2(const LstmCellArgs& a);

struct F32RnnUkernels {
  Isa isa;
  F32GemvUkernel gemv;
  F32LstmCellUkernel lstm_cell;
};

/// Every variant this build has (scalar first); the ones the CPU cannot run are still listed.
const F32RnnUkernels* F32RnnUkernelSets(size_t* count);
/// The best variant for this CPU (respects TERN_ISA).
const F32RnnUkernels& BestF32RnnUkernels();

}  // namespace tern::cpu
