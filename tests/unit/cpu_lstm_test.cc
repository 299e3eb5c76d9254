// The cpu provider's LSTM against the reference provider (directions, hidden sizes below, at and
// above the 8-wide SIMD tile, sequence_lens, initial states, peepholes, clip, both layouts, each
// of the three outputs), and every recurrent microkernel variant the CPU can run against the
// scalar one.
#include <cmath>
#include <string>
#include <vector>

#include "cpu_test_util.h"
#include "ep/cpu/ukernels/rnn/f32_rnn.h"

namespace tern::cputest {
namespace {

std::vector<float> RandomFloats(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// The variants this CPU can run, scalar first.
std::vector<const cpu::F32RnnUkernels*> RunnableVariants() {
  size_t count = 0;
  const cpu::F32RnnUkernels* sets = cpu::F32RnnUkernelSets(&count);
  std::vector<const cpu::F32RnnUkernels*> out;
  for (size_t i = 0; i < count; ++i)
    if (static_cast<int>(sets[i].isa) <= static_cast<int>(BestIsa())) out.push_back(&sets[i]);
  return out;
}

TEST(CpuRnnUkernels, GemvMatchesScalar) {
  for (const auto* v : RunnableVariants()) {
    SCOPED_TRACE(IsaName(v->isa));
    for (size_t rows : {1, 2, 3, 4, 5, 8}) {
      for (size_t n : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 100, 512}) {
        for (size_t k : {1, 3, 16, 129}) {
          SCOPED_TRACE("rows=" + std::to_string(rows) + " n=" + std::to_string(n) +
                       " k=" + std::to_string(k));
          // Strided rows: ldx and ldy larger than k and n.
          const size_t ldx = k + 3, ldy = n + 5;
          const std::vector<float> x = RandomFloats(rows * ldx, 1), wt = RandomFloats(k * n, 2);
          std::vector<float> want = RandomFloats(rows * ldy, 3), got = want;
          cpu::f32_gemv__scalar(rows, x.data(), ldx, wt.data(), k, n, want.data(), ldy);
          v->gemv(rows, x.data(), ldx, wt.data(), k, n, got.data(), ldy);
          for (size_t j = 0; j < rows * ldy; ++j) ASSERT_NEAR(got[j], want[j], 1e-4f) << "at " << j;
        }
      }
    }
  }
}

TEST(CpuRnnUkernels, LstmCellMatchesScalar) {
  for (const auto* v : RunnableVariants()) {
    SCOPED_TRACE(IsaName(v->isa));
    for (size_t h : {1, 5, 8, 13, 16, 33, 128}) {
      for (int variant = 0; variant < 3; ++variant) {  // plain, peepholes, peepholes + clip
        SCOPED_TRACE("hidden=" + std::to_string(h) + " variant=" + std::to_string(variant));
        // Wide pre-activations reach the saturated ends of sigmoid and tanh and values near 0.
        const std::vector<float> gates = RandomFloats(4 * h, 4, 12.0f);
        const std::vector<float> peep = RandomFloats(3 * h, 5);
        std::vector<float> c_want = RandomFloats(h, 6, 3.0f), c_got = c_want;
        std::vector<float> h_want(h), h_got(h);
        cpu::LstmCellArgs a;
        a.gates = gates.data();
        a.peephole = variant ? peep.data() : nullptr;
        a.clip = variant == 2 ? 2.5f : 0.0f;
        a.hidden = h;
        a.c = c_want.data();
        a.h = h_want.data();
        cpu::f32_lstm_cell__scalar(a);
        a.c = c_got.data();
        a.h = h_got.data();
        v->lstm_cell(a);
        for (size_t j = 0; j < h; ++j) {
          ASSERT_NEAR(c_got[j], c_want[j], 1e-5f + 1e-5f * std::abs(c_want[j])) << "c at " << j;
          ASSERT_NEAR(h_got[j], h_want[j], 1e-5f) << "h at " << j;
        }
      }
    }
  }
}

TEST(CpuRnnUkernels, TanhAndSigmoidNearZeroAreAccurate) {
  // Small pre-activations exercise tanh's polynomial branch; compare with std::tanh directly.
  for (const auto* v : RunnableVariants()) {
    SCOPED_TRACE(IsaName(v->isa));
    const size_t h = 16;
    std::vector<float> gates(4 * h, 0.0f), c(h), hv(h);
    for (size_t j = 0; j < h; ++j) {
      gates[3 * h + j] = 1e-4f * static_cast<float>(j) - 5e-4f;  // g pre-activation
      gates[j] = 30.0f;                                            // i = 1
      gates[2 * h + j] = -30.0f;                                   // f = 0
    }
    cpu::LstmCellArgs a;
    a.gates = gates.data();
    a.hidden = h;
    a.c = c.data();
    a.h = hv.data();
    v->lstm_cell(a);
    for (size_t j = 0; j < h; ++j) {
      const float want = std::tanh(gates[3 * h + j]);
      ASSERT_NEAR(c[j], want, 1e-6f * std::abs(want) + 1e-9f) << "at " << j;
    }
  }
}

struct LstmCase {
  std::string direction;
  int64_t seq, batch, input, hidden;
  bool bias, lens, initial, peephole;
  int64_t layout;
  float clip;  // 0: none
};

void CheckLstm(const LstmCase& c) {
  const int64_t nd = c.direction == "bidirectional" ? 2 : 1;
  const int64_t S = c.seq, N = c.batch, I = c.input, H = c.hidden;
  std::vector<Arg> args = {
      {"x", RandomTensor(c.layout == 0 ? Shape{S, N, I} : Shape{N, S, I}, 11)},
      {"w", RandomTensor(Shape{nd, 4 * H, I}, 12), true},
      {"r", RandomTensor(Shape{nd, 4 * H, H}, 13), true}};
  std::vector<std::string> inputs = {"x", "w", "r", "", "", "", "", ""};
  if (c.bias) {
    args.push_back({"b", RandomTensor(Shape{nd, 8 * H}, 14), true});
    inputs[3] = "b";
  }
  if (c.lens) {
    std::vector<int32_t> lens(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) lens[n] = static_cast<int32_t>((n * 2 + 1) % (S + 1));
    args.push_back({"lens", Tensor::FromVector(DataType::kInt32, Shape{N}, lens)});
    inputs[4] = "lens";
  }
  if (c.initial) {
    const Shape st = c.layout == 0 ? Shape{nd, N, H} : Shape{N, nd, H};
    args.push_back({"h0", RandomTensor(st, 15)});
    args.push_back({"c0", RandomTensor(st, 16)});
    inputs[5] = "h0";
    inputs[6] = "c0";
  }
  if (c.peephole) {
    args.push_back({"p", RandomTensor(Shape{nd, 3 * H}, 17), true});
    inputs[7] = "p";
  }
  while (!inputs.empty() && inputs.back().empty()) inputs.pop_back();
  std::vector<Attr> attrs = {Str("direction", c.direction), Int("hidden_size", H),
                             Int("layout", c.layout)};
  if (c.clip > 0) attrs.push_back(Float("clip", c.clip));
  for (int out = 0; out < 3; ++out) {
    SCOPED_TRACE("output " + std::to_string(out));
    std::vector<std::string> outputs(static_cast<size_t>(out + 1));
    outputs[static_cast<size_t>(out)] = "y";
    ExpectCpuMatchesRef({{"LSTM", inputs, outputs, attrs}}, args);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(CpuLstmOp, MatchesRef) {
  const std::vector<LstmCase> cases = {
      {"forward", 1, 1, 128, 128, true, false, true, false, 0, 0},  // Silero's shape
      {"forward", 5, 1, 7, 3, false, false, false, false, 0, 0},
      {"reverse", 5, 2, 6, 8, true, false, true, false, 0, 0},
      {"bidirectional", 4, 3, 5, 13, true, true, true, false, 0, 0},
      {"bidirectional", 6, 2, 9, 16, true, true, true, true, 0, 0},
      {"forward", 3, 5, 33, 33, true, true, false, true, 0, 1.5f},
      {"reverse", 4, 3, 4, 9, true, true, true, false, 1, 0},
      {"bidirectional", 2, 1, 3, 40, false, false, true, true, 1, 0},
  };
  for (const LstmCase& c : cases) {
    SCOPED_TRACE(c.direction + " seq=" + std::to_string(c.seq) + " batch=" +
                 std::to_string(c.batch) + " input=" + std::to_string(c.input) +
                 " hidden=" + std::to_string(c.hidden) + " layout=" + std::to_string(c.layout));
    CheckLstm(c);
    if (HasFatalFailure()) return;
  }
}

TEST(CpuLstmOp, UnsupportedFormsFallBackToRef) {
  std::vector<Arg> args = {{"x", RandomTensor(Shape{2, 1, 3}, 1)},
                           {"w", RandomTensor(Shape{1, 8, 3}, 2), true},
                           {"r", RandomTensor(Shape{1, 8, 2}, 3), true}};
  std::vector<NodePlacement> placements;
  RunConfig cfg{{"cpu", "ref"}, false, 1, &placements};
  // input_forget is not a cpu form: the node must go to ref, with the reason recorded.
  auto model_attrs = std::vector<Attr>{Int("hidden_size", 2), Int("input_forget", 1)};
  auto got = RunGraph({{"LSTM", {"x", "w", "r"}, {"y"}, model_attrs}}, args, cfg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(placements.size(), 1u);
  EXPECT_EQ(placements[0].provider, "ref");
  EXPECT_NE(placements[0].reason.find("input_forget"), std::string::npos) << placements[0].reason;
  // W as a graph input (not a constant): also ref.
  args[1].constant = false;
  got = RunGraph({{"LSTM", {"x", "w", "r"}, {"y"}, {Int("hidden_size", 2)}}}, args, cfg);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(placements[0].provider, "ref");
}

}  // namespace
}  // namespace tern::cputest
