// The cpu provider's elementwise ops (Add, Sub, Mul, Div, Max, Min, the activations, Clip)
// against the reference provider on broadcasting shapes, and every elementwise microkernel
// variant this CPU can run against plain double-precision formulas at lengths around the
// vector width and unroll.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cpu_test_util.h"
#include "ep/cpu/ukernels/elementwise/f32_elementwise.h"

namespace tern::cputest {
namespace {

using cpu::Activation;
using cpu::ActivationParams;
using cpu::BinaryOp;
using cpu::F32ElementwiseUkernels;

std::vector<const F32ElementwiseUkernels*> Variants() {
  const F32ElementwiseUkernels* all[8];
  const size_t n = cpu::RunnableF32ElementwiseUkernels(all, 8);
  return {all, all + n};
}

std::vector<float> Values(size_t n, unsigned seed, float lo = -4, float hi = 4) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

const std::vector<size_t> kLengths = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 100, 1027};

double Binary(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd:
      return a + b;
    case BinaryOp::kSub:
      return a - b;
    case BinaryOp::kMul:
      return a * b;
    case BinaryOp::kDiv:
      return a / b;
    case BinaryOp::kMax:
      return std::max(a, b);
    case BinaryOp::kMin:
      return std::min(a, b);
  }
  return 0;
}

void ExpectNear(float got, double want, const std::string& what) {
  ASSERT_NEAR(got, want, 2e-6 + 2e-6 * std::abs(want)) << what;
}

TEST(CpuElementwiseUkernel, BinaryEveryVariantAndLength) {
  for (const F32ElementwiseUkernels* uk : Variants()) {
    for (size_t op = 0; op < cpu::kNumBinaryOps; ++op) {
      for (size_t n : kLengths) {
        const std::string what =
            std::string(uk->isa_name) + " op " + std::to_string(op) + " n " + std::to_string(n);
        std::vector<float> a = Values(n + 1, 1), b = Values(n + 1, 2, 0.5f, 3.0f);
        std::vector<float> y(n + 1, 99.0f);  // y[n] must stay untouched
        const BinaryOp bop = static_cast<BinaryOp>(op);
        uk->vv[op](n, a.data(), b.data(), y.data());
        for (size_t i = 0; i < n; ++i) ExpectNear(y[i], Binary(bop, a[i], b[i]), what + " vv");
        ASSERT_EQ(y[n], 99.0f) << what;
        uk->vs[op](n, a.data(), b[0], y.data());
        for (size_t i = 0; i < n; ++i) ExpectNear(y[i], Binary(bop, a[i], b[0]), what + " vs");
        uk->sv[op](n, b.data(), a[0], y.data());
        for (size_t i = 0; i < n; ++i) ExpectNear(y[i], Binary(bop, a[0], b[i]), what + " sv");
        ASSERT_EQ(y[n], 99.0f) << what;
      }
    }
  }
}

TEST(CpuElementwiseUkernel, MaxMinPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const F32ElementwiseUkernels* uk : Variants()) {
    std::vector<float> a(9, 1.0f), b(9, 2.0f), y(9);
    a[3] = nan;
    b[8] = nan;
    for (BinaryOp op : {BinaryOp::kMax, BinaryOp::kMin}) {
      uk->vv[static_cast<size_t>(op)](9, a.data(), b.data(), y.data());
      for (size_t i = 0; i < 9; ++i)
        EXPECT_EQ(std::isnan(y[i]), i == 3 || i == 8) << uk->isa_name << " at " << i;
    }
  }
}

double Activate(const ActivationParams& p, double x) {
  switch (p.act) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x > 0 ? x : 0;
    case Activation::kClip:
      return std::min(std::max(x, double(p.alpha)), double(p.beta));
    case Activation::kLeakyRelu:
      return x < 0 ? p.alpha * x : x;
    case Activation::kSigmoid:
      return 1 / (1 + std::exp(-x));
    case Activation::kHardSigmoid:
      return std::clamp(p.alpha * x + p.beta, 0.0, 1.0);
    case Activation::kHardSwish:
      return x * std::clamp(x / 6 + 0.5, 0.0, 1.0);
    case Activation::kTanh:
      return std::tanh(x);
  }
  return 0;
}

TEST(CpuElementwiseUkernel, ActivationsEveryVariantAndLength) {
  const ActivationParams params[] = {{Activation::kRelu, 0, 0},
                                     {Activation::kClip, -0.7f, 1.5f},
                                     {Activation::kLeakyRelu, 0.1f, 0},
                                     {Activation::kSigmoid, 0, 0},
                                     {Activation::kHardSigmoid, 0.2f, 0.5f},
                                     {Activation::kHardSwish, 0, 0},
                                     {Activation::kTanh, 0, 0},
                                     {Activation::kNone, 0, 0}};
  for (const F32ElementwiseUkernels* uk : Variants()) {
    for (const ActivationParams& p : params) {
      for (size_t n : kLengths) {
        const std::string what = std::string(uk->isa_name) + " act " +
                                 std::to_string(static_cast<int>(p.act)) + " n " +
                                 std::to_string(n);
        // Wide range: the large-|x| paths of exp, and tiny values for Tanh's series.
        std::vector<float> x = Values(n + 1, 3, -30, 30);
        for (size_t i = 0; i < n; i += 3) x[i] *= 0.01f;
        std::vector<float> y(n + 1, 99.0f);
        uk->activation(n, x.data(), y.data(), p);
        for (size_t i = 0; i < n; ++i) ExpectNear(y[i], Activate(p, x[i]), what);
        ASSERT_EQ(y[n], 99.0f) << what;
        // In place.
        std::vector<float> z = x;
        uk->activation(n, z.data(), z.data(), p);
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(z[i], y[i]) << what << " in place";
      }
    }
  }
}

TEST(CpuElementwiseUkernel, AffineAndReductions) {
  for (const F32ElementwiseUkernels* uk : Variants()) {
    for (size_t n : kLengths) {
      const std::string what = std::string(uk->isa_name) + " n " + std::to_string(n);
      std::vector<float> x = Values(n + 1, 4), y(n + 1, 99.0f);
      uk->affine(n, x.data(), 1.5f, -0.25f, y.data());
      double sum = 0, mx = -std::numeric_limits<double>::infinity();
      for (size_t i = 0; i < n; ++i) {
        ExpectNear(y[i], 1.5 * x[i] - 0.25, what);
        sum += x[i];
        mx = std::max(mx, double(x[i]));
      }
      ASSERT_EQ(y[n], 99.0f) << what;
      ASSERT_NEAR(uk->sum(n, x.data()), sum, 1e-5 * (1 + n)) << what;
      ASSERT_EQ(uk->max(n, x.data()), static_cast<float>(mx)) << what;
    }
    std::vector<float> x(20, 1.0f);
    x[17] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan(uk->max(20, x.data()))) << uk->isa_name;
  }
}

void CheckBinary(const std::string& op, const Shape& a, const Shape& b, bool b_constant = false) {
  SCOPED_TRACE(op + " " + a.ToString() + " " + b.ToString());
  // Divisors away from zero.
  Tensor bt = RandomTensor(b, 8);
  if (op == "Div")
    for (int64_t i = 0; i < bt.numel(); ++i)
      bt.data<float>()[i] = 0.5f + std::abs(bt.data<float>()[i]);
  ExpectCpuMatchesRef({{op, {"a", "b"}, {"y"}, {}}},
                      {{"a", RandomTensor(a, 7)}, {"b", bt, b_constant}});
}

TEST(CpuBinary, MatchesRefWithBroadcasting) {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {Shape{1, 16, 40, 41}, Shape{1, 16, 40, 41}},  // same shape, long rows
      {Shape{1, 16, 40, 41}, Shape{}},               // scalar
      {Shape{1, 16, 40, 41}, Shape{1}},
      {Shape{2, 6, 5, 7}, Shape{1, 6, 1, 1}},  // per channel
      {Shape{1, 6, 1, 1}, Shape{2, 6, 5, 7}},  // per channel on the left
      {Shape{3, 1, 5}, Shape{1, 4, 1}},        // outer product
      {Shape{4, 1}, Shape{1, 9}},
      {Shape{2, 3, 4, 5}, Shape{5}},  // broadcast along the leading dims
      {Shape{2, 3, 4, 5}, Shape{3, 1, 5}},
      {Shape{7}, Shape{7}},
      {Shape{1, 1, 1}, Shape{1}},
      {Shape{2, 1, 3, 1, 2, 1, 2, 1, 3}, Shape{1, 2, 1, 3, 1, 2, 1, 2, 1}},  // many dims
      {Shape{1, 3, 300, 300}, Shape{1, 3, 1, 300}},  // big enough to use threads
      {Shape{0, 3}, Shape{1, 3}},                    // empty
  };
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Max", "Min"}) {
    for (const auto& [a, b] : shapes) {
      CheckBinary(op, a, b);
      if (HasFatalFailure()) return;
    }
    CheckBinary(op, Shape{2, 8, 6, 6}, Shape{8, 1, 1}, true);
    if (HasFatalFailure()) return;
  }
}

TEST(CpuActivation, MatchesRef) {
  struct Case {
    std::string op;
    std::vector<Attr> attrs;
  };
  const std::vector<Case> cases = {
      {"Relu", {}},
      {"LeakyRelu", {Float("alpha", 0.3f)}},
      {"LeakyRelu", {}},
      {"Sigmoid", {}},
      {"HardSigmoid", {Float("alpha", 0.3f), Float("beta", 0.4f)}},
      {"HardSigmoid", {}},
      {"HardSwish", {}},
      {"Tanh", {}},
  };
  for (const Shape& shape : {Shape{1, 3, 7, 5}, Shape{2, 50, 401}, Shape{}, Shape{0, 4}}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.op + " " + shape.ToString());
      ExpectCpuMatchesRef({{c.op, {"x"}, {"y"}, c.attrs}}, {{"x", RandomTensor(shape, 9)}});
      if (HasFatalFailure()) return;
    }
  }
}

TEST(CpuActivation, ClipBoundsFromInputsAndAttributes) {
  auto scalar = [](float v) {
    return Tensor::FromVector(DataType::kFloat32, Shape{}, std::vector<float>{v});
  };
  const Shape shape{2, 3, 37};
  // Opset 11+: run-time bounds, one or both.
  ExpectCpuMatchesRef({{"Clip", {"x", "lo", "hi"}, {"y"}, {}}},
                      {{"x", RandomTensor(shape, 1)}, {"lo", scalar(-0.3f)}, {"hi", scalar(0.6f)}});
  ExpectCpuMatchesRef({{"Clip", {"x", "lo"}, {"y"}, {}}},
                      {{"x", RandomTensor(shape, 1)}, {"lo", scalar(-0.3f), true}});
  ExpectCpuMatchesRef({{"Clip", {"x", "", "hi"}, {"y"}, {}}},
                      {{"x", RandomTensor(shape, 1)}, {"hi", scalar(0.2f), true}});
  ExpectCpuMatchesRef({{"Clip", {"x"}, {"y"}, {}}}, {{"x", RandomTensor(shape, 1)}});
  // Opset 6: attributes.
  const std::vector<NodeSpec> nodes = {
      {"Clip", {"x"}, {"y"}, {Float("min", -0.5f), Float("max", 0.25f)}}};
  const std::vector<Arg> args = {{"x", RandomTensor(shape, 2)}};
  auto want = RunGraph(nodes, args, {{"ref"}, true, 1}, 6);
  auto got = RunGraph(nodes, args, {{"cpu"}, true, 2}, 6);
  ASSERT_TRUE(want.ok() && got.ok()) << want.status().ToString() << got.status().ToString();
  ExpectClose(*got, *want);
}

TEST(CpuBinary, IntegersFallBackToRef) {
  std::vector<NodePlacement> placements;
  std::vector<int64_t> v = {1, 2, 3};
  auto y = RunGraph({{"Add", {"a", "b"}, {"y"}, {}}},
                    {{"a", Tensor::FromVector(DataType::kInt64, Shape{3}, v)},
                     {"b", Tensor::FromVector(DataType::kInt64, Shape{3}, v)}},
                    {{"cpu", "ref"}, false, 1, &placements});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ASSERT_EQ(placements.size(), 1u);
  EXPECT_EQ(placements[0].provider, "ref");
  EXPECT_NE(placements[0].reason.find("int64"), std::string::npos) << placements[0].reason;
  EXPECT_EQ(y->data<int64_t>()[2], 6);
}

}  // namespace
}  // namespace tern::cputest
