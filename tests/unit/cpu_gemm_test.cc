// The f32 GEMM driver and every microkernel variant this CPU can run, against a naive triple loop
// on shapes below, at, above and not divisible by each tile, and across the K block (kKc).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ep/cpu/gemm.h"

namespace tern::cpu {
namespace {

std::vector<float> Random(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

float Activate(float x, const Epilogue& e) {
  switch (e.act) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x > 0 ? x : 0;
    case Activation::kClip:
      return x < e.alpha ? e.alpha : (x > e.beta ? e.beta : x);
    case Activation::kLeakyRelu:
      return x >= 0 ? x : e.alpha * x;
    case Activation::kSigmoid:
      return 1.0f / (1.0f + std::exp(-x));
    case Activation::kHardSigmoid: {
      const float v = e.alpha * x + e.beta;
      return v < 0 ? 0 : (v > 1 ? 1 : v);
    }
    case Activation::kHardSwish: {
      const float v = x / 6.0f + 0.5f;
      return x * (v < 0 ? 0 : (v > 1 ? 1 : v));
    }
    case Activation::kTanh:
      return std::tanh(x);
  }
  return x;
}

enum class AMode { kPacked, kStrided, kTransposed };
enum class BMode { kPacked, kPackedTransposed, kStrided, kTransposed, kCallback };

struct Case {
  size_t m, n, k;
  AMode a_mode;
  BMode b_mode;
  Epilogue epi;
  int threads;
};

std::string Describe(const F32GemmUkernelInfo& uk, const Case& c) {
  return std::string(uk.name) + " m=" + std::to_string(c.m) + " n=" + std::to_string(c.n) +
         " k=" + std::to_string(c.k) + " a=" + std::to_string(int(c.a_mode)) +
         " b=" + std::to_string(int(c.b_mode)) + " act=" + std::to_string(int(c.epi.act)) +
         " bias_row=" + std::to_string(c.epi.bias_per_row) +
         " threads=" + std::to_string(c.threads);
}

void RunCase(const F32GemmUkernelInfo& uk, Case c) {
  SCOPED_TRACE(Describe(uk, c));
  // A logical M x K and B logical K x N, stored with padding in their leading dims.
  const size_t lda = (c.a_mode == AMode::kTransposed ? c.m : c.k) + 3;
  const size_t ldb =
      (c.b_mode == BMode::kTransposed || c.b_mode == BMode::kPackedTransposed ? c.k : c.n) + 2;
  const bool a_trans = c.a_mode == AMode::kTransposed;
  const bool b_trans = c.b_mode == BMode::kTransposed || c.b_mode == BMode::kPackedTransposed;
  std::vector<float> a = Random((a_trans ? c.k : c.m) * lda + 1, 1);
  std::vector<float> b = Random((b_trans ? c.n : c.k) * ldb + 1, 2);
  auto at = [&](size_t i, size_t k) { return a_trans ? a[k * lda + i] : a[i * lda + k]; };
  auto bt = [&](size_t k, size_t j) { return b_trans ? b[j * ldb + k] : b[k * ldb + j]; };
  std::vector<float> bias = Random(std::max(c.m, c.n), 3);
  if (c.epi.bias) c.epi.bias = bias.data();

  const size_t ldc = c.n + 5;
  std::vector<float> out(c.m * ldc, 12345.0f);
  GemmProblem p;
  p.m = c.m;
  p.n = c.n;
  p.k = c.k;
  PackedMatrix pa, pb;
  if (c.a_mode == AMode::kPacked) {
    pa = PackA(a.data(), c.m, c.k, lda, false, uk);
    p.a_packed = &pa;
  } else {
    p.a = a.data();
    p.lda = lda;
    p.a_trans = a_trans;
  }
  PackBFn callback = [&](float* dst, size_t k0, size_t kc, size_t j0, size_t nc) {
    for (size_t jp = 0; jp < nc; jp += uk.nr)
      for (size_t k = 0; k < kc; ++k)
        for (size_t r = 0; r < uk.nr; ++r) {
          const size_t j = j0 + jp + r;
          *dst++ = j < c.n ? bt(k0 + k, j) : 0.0f;
        }
  };
  if (c.b_mode == BMode::kPacked || c.b_mode == BMode::kPackedTransposed) {
    pb = PackB(b.data(), c.k, c.n, ldb, b_trans, uk);
    p.b_packed = &pb;
  } else if (c.b_mode == BMode::kCallback) {
    p.b_pack = &callback;
  } else {
    p.b = b.data();
    p.ldb = ldb;
    p.b_trans = b_trans;
  }
  p.c = out.data();
  p.ldc = ldc;
  p.epilogue = c.epi;
  ThreadPool pool(c.threads);
  RunGemm(p, uk, &pool);

  for (size_t i = 0; i < c.m; ++i) {
    for (size_t j = 0; j < c.n; ++j) {
      double acc = 0;
      for (size_t k = 0; k < c.k; ++k) acc += double(at(i, k)) * double(bt(k, j));
      float want = static_cast<float>(acc);
      if (c.epi.bias) want += c.epi.bias_per_row ? bias[i] : bias[j];
      want = Activate(want, c.epi);
      ASSERT_NEAR(out[i * ldc + j], want, 1e-4f * (1.0f + std::sqrt(float(c.k))))
          << "at (" << i << ", " << j << ")";
    }
    // Padding between rows of C is never written.
    for (size_t j = c.n; j < ldc; ++j) ASSERT_EQ(out[i * ldc + j], 12345.0f) << "pad " << j;
  }
}

std::vector<const F32GemmUkernelInfo*> RunnableKernels() {
  size_t count = 0;
  const F32GemmUkernelInfo* all = F32GemmUkernels(&count);
  std::vector<const F32GemmUkernelInfo*> out;
  for (size_t i = 0; i < count; ++i)
    if (static_cast<int>(all[i].isa) <= static_cast<int>(BestIsa())) out.push_back(&all[i]);
  return out;
}

TEST(CpuGemm, EveryShapeAroundTheTile) {
  size_t case_index = 0;
  for (const F32GemmUkernelInfo* uk : RunnableKernels()) {
    const size_t mr = uk->mr, nr = uk->nr;
    const std::vector<size_t> sizes = {1, mr - 1, mr, mr + 1, 2 * nr + 3, 300};
    for (size_t m : sizes)
      for (size_t n : sizes)
        for (size_t k : sizes) {
          if (m == 0 || n == 0 || k == 0) continue;
          // Rotate operand layouts and thread counts over the shapes so that every combination
          // of layouts meets shapes on both sides of the tile.
          Case c{m,
                 n,
                 k,
                 AMode(case_index % 3),
                 BMode((case_index / 3) % 5),
                 Epilogue{},
                 1 + int(case_index / 15) % 2};
          ++case_index;
          RunCase(*uk, c);
          if (HasFatalFailure()) return;
        }
  }
}

TEST(CpuGemm, BiasAndEveryActivation) {
  const Activation acts[] = {Activation::kNone,      Activation::kRelu,    Activation::kClip,
                             Activation::kLeakyRelu, Activation::kSigmoid, Activation::kHardSigmoid,
                             Activation::kHardSwish, Activation::kTanh};
  for (const F32GemmUkernelInfo* uk : RunnableKernels()) {
    for (Activation act : acts)
      for (int bias_mode = 0; bias_mode < 3; ++bias_mode)
        for (int threads = 1; threads <= 2; ++threads) {
          Epilogue e;
          e.act = act;
          e.alpha = act == Activation::kClip ? -0.3f : 0.2f;
          e.beta = act == Activation::kClip ? 0.4f : 0.5f;
          static const float kDummy = 0;
          e.bias = bias_mode == 0 ? nullptr : &kDummy;  // replaced by real values in RunCase
          e.bias_per_row = bias_mode == 1;
          Case c{uk->mr + 1, 2 * uk->nr + 3, 300, AMode::kPacked, BMode::kCallback, e, threads};
          RunCase(*uk, c);
          c.a_mode = AMode::kStrided;
          c.b_mode = BMode::kPacked;
          c.m = 37;
          c.n = 5;
          RunCase(*uk, c);
          if (HasFatalFailure()) return;
        }
  }
}

TEST(CpuGemm, ZeroKWritesBiasOnly) {
  const F32GemmUkernelInfo& uk = BestF32GemmUkernel();
  std::vector<float> out(6, 7.0f), bias = {1, 2};
  GemmProblem p;
  p.m = 2;
  p.n = 3;
  p.k = 0;
  float dummy = 0;
  p.a = &dummy;
  p.b = &dummy;
  p.c = out.data();
  p.ldc = 3;
  p.epilogue.bias = bias.data();
  RunGemm(p, uk, nullptr);
  EXPECT_EQ(out, (std::vector<float>{1, 1, 1, 2, 2, 2}));
}

}  // namespace
}  // namespace tern::cpu
