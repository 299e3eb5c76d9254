// The cpu provider's Gemm and MatMul (and their fused forms) against the reference provider:
// transposes, alpha/beta, every broadcast of C, constant and run-time B, batched broadcasting,
// 1-D operands, 1 and 2 threads.
#include <string>
#include <vector>

#include "cpu_test_util.h"

namespace tern::cputest {
namespace {

TEST(CpuGemmOp, MatchesRef) {
  struct Case {
    int64_t m, k, n;
    bool ta, tb;
    float alpha, beta;
    std::vector<int64_t> c_shape;  // empty: no C; {-1}: scalar
    bool const_b, const_c;
  };
  const std::vector<Case> cases = {
      {5, 7, 9, false, false, 1, 1, {9}, true, true},
      {5, 7, 9, true, false, 1, 1, {1, 9}, false, false},
      {17, 300, 33, false, true, 0.5f, 2.0f, {17, 1}, true, true},
      {17, 300, 33, true, true, 1, 1, {17, 1}, false, false},
      {3, 4, 70, false, true, 1, 0.5f, {3, 70}, true, false},
      {1, 13, 1, false, false, 2, 1, {-1}, false, true},
      {6, 9, 11, false, false, 1, 1, {}, true, false},
      {40, 65, 50, true, false, 1.5f, 1, {50}, false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("m=" + std::to_string(c.m) + " k=" + std::to_string(c.k) +
                 " n=" + std::to_string(c.n));
    std::vector<Arg> args = {
        {"a", RandomTensor(c.ta ? Shape{c.k, c.m} : Shape{c.m, c.k}, 1)},
        {"b", RandomTensor(c.tb ? Shape{c.n, c.k} : Shape{c.k, c.n}, 2), c.const_b}};
    std::vector<std::string> inputs = {"a", "b"};
    if (!c.c_shape.empty()) {
      const Shape cs = c.c_shape[0] == -1 ? Shape{} : Shape(c.c_shape);
      args.push_back({"c", RandomTensor(cs, 3), c.const_c});
      inputs.push_back("c");
    }
    std::vector<Attr> attrs = {Int("transA", c.ta), Int("transB", c.tb), Float("alpha", c.alpha),
                               Float("beta", c.beta)};
    ExpectCpuMatchesRef({{"Gemm", inputs, {"y"}, attrs}}, args);
    if (HasFatalFailure()) return;
    // The same with a fused Clip: cpu FusedGemm against Gemm + Clip on ref.
    std::vector<Attr> fused_attrs = attrs;
    fused_attrs.push_back(Str("activation", "Clip"));
    fused_attrs.push_back(Floats("activation_params", {-0.5f, 0.75f}));
    args.push_back(
        {"lo", Tensor::FromVector(DataType::kFloat32, Shape{}, std::vector<float>{-0.5f}), true});
    args.push_back(
        {"hi", Tensor::FromVector(DataType::kFloat32, Shape{}, std::vector<float>{0.75f}), true});
    std::vector<NodeSpec> ref = {{"Gemm", inputs, {"t"}, attrs},
                                 {"Clip", {"t", "lo", "hi"}, {"y"}, {}}};
    std::vector<NodeSpec> fused = {{"FusedGemm", inputs, {"y"}, fused_attrs, "ai.tern"}};
    ExpectCpuMatchesRef(fused, args, &ref);
    if (HasFatalFailure()) return;
  }
}

TEST(CpuMatMul, MatchesRef) {
  struct Case {
    std::vector<int64_t> a, b;
    bool const_b;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5, 7}, {7, 4}, true},  // batches of A fold into M, B packed at load
      {{2, 3, 5, 7}, {7, 4}, false},
      {{5, 7}, {2, 3, 7, 4}, false},  // A broadcast over B's batches
      {{3, 1, 5, 7}, {1, 4, 7, 6}, false},
      {{4, 33, 300}, {4, 300, 19}, false},
      {{64, 9, 16}, {64, 16, 9}, false},  // many small batches split over threads
      {{7}, {7, 4}, true},                // 1-D A
      {{5, 7}, {7}, false},               // 1-D B
      {{7}, {7}, false},
      {{1, 30}, {30, 130}, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(Shape(c.a).ToString() + " x " + Shape(c.b).ToString());
    std::vector<Arg> args = {{"a", RandomTensor(Shape(c.a), 1)},
                             {"b", RandomTensor(Shape(c.b), 2), c.const_b}};
    ExpectCpuMatchesRef({{"MatMul", {"a", "b"}, {"y"}, {}}}, args);
    if (HasFatalFailure()) return;
  }
}

TEST(CpuMatMul, FusedHardSigmoid) {
  std::vector<Arg> args = {{"a", RandomTensor(Shape{2, 6, 20}, 1)},
                           {"b", RandomTensor(Shape{20, 11}, 2), true}};
  std::vector<NodeSpec> fused = {
      {"FusedMatMul",
       {"a", "b"},
       {"y"},
       {Str("activation", "HardSigmoid"), Floats("activation_params", {0.25f, 0.45f})},
       "ai.tern"}};
  std::vector<NodeSpec> ref = {
      {"MatMul", {"a", "b"}, {"t"}, {}},
      {"HardSigmoid", {"t"}, {"y"}, {Float("alpha", 0.25f), Float("beta", 0.45f)}}};
  ExpectCpuMatchesRef(fused, args, &ref);
}

TEST(CpuMatMul, MismatchIsAnError) {
  auto y = RunGraph({{"MatMul", {"a", "b"}, {"y"}, {}}},
                    {{"a", RandomTensor(Shape{3, 4}, 1)}, {"b", RandomTensor(Shape{5, 2}, 2)}},
                    {{"cpu"}, true, 1});
  EXPECT_FALSE(y.ok());
  // An unknown fused activation falls back (and strict cpu refuses it).
  y = RunGraph({{"FusedMatMul", {"a", "b"}, {"y"}, {Str("activation", "Gelu")}, "ai.tern"}},
               {{"a", RandomTensor(Shape{3, 4}, 1)}, {"b", RandomTensor(Shape{4, 2}, 2)}},
               {{"cpu"}, true, 1});
  EXPECT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("Gelu"), std::string::npos) << y.status().ToString();
}

}  // namespace
}  // namespace tern::cputest
