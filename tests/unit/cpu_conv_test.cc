// The cpu provider's Conv (GEMM, pointwise, grouped, depthwise; 1-D and 2-D) against the reference
// provider on awkward shapes, with constant and run-time weights, 1 and 2 threads.
#include <string>
#include <vector>

#include "cpu_test_util.h"

namespace tern::cputest {
namespace {

struct ConvCase {
  std::string name;
  std::vector<int64_t> x_shape;  // N, C, (H,) W
  std::vector<int64_t> w_shape;  // M, C/group, (KH,) KW
  std::vector<Attr> attrs;
  bool bias = true;
  bool constant_weights = true;
};

void CheckConv(const ConvCase& c) {
  SCOPED_TRACE(c.name);
  std::vector<Arg> args = {{"x", RandomTensor(Shape(c.x_shape), 1)},
                           {"w", RandomTensor(Shape(c.w_shape), 2), c.constant_weights}};
  std::vector<std::string> inputs = {"x", "w"};
  if (c.bias) {
    args.push_back({"b", RandomTensor(Shape{c.w_shape[0]}, 3), c.constant_weights});
    inputs.push_back("b");
  }
  ExpectCpuMatchesRef({{"Conv", inputs, {"y"}, c.attrs}}, args);
}

TEST(CpuConv, MatchesRef) {
  const std::vector<ConvCase> cases = {
      {"pointwise batch 2", {2, 5, 7, 9}, {13, 5, 1, 1}, {}},
      {"pointwise K crosses the block", {1, 300, 3, 5}, {7, 300, 1, 1}, {}},
      {"3x3 pad 1", {1, 3, 11, 13}, {7, 3, 3, 3}, {Ints("pads", {1, 1, 1, 1})}},
      {"3x3 stride 2 asymmetric pads",
       {2, 3, 10, 9},
       {5, 3, 3, 3},
       {Ints("strides", {2, 2}), Ints("pads", {0, 1, 1, 0})}},
      {"3x3 dilation 2",
       {1, 4, 12, 15},
       {6, 4, 3, 3},
       {Ints("dilations", {2, 2}), Ints("pads", {2, 2, 2, 2})}},
      {"5x5 stride 2 SAME_UPPER",
       {1, 3, 17, 19},
       {8, 3, 5, 5},
       {Ints("strides", {2, 2}), Str("auto_pad", "SAME_UPPER")}},
      {"3x2 strides 3x1 SAME_LOWER",
       {1, 2, 13, 11},
       {3, 2, 3, 2},
       {Ints("strides", {3, 1}), Str("auto_pad", "SAME_LOWER")}},
      {"1x1 stride 2", {1, 6, 9, 9}, {4, 6, 1, 1}, {Ints("strides", {2, 2})}, false},
      {"many channels crosses K block, wide",
       {1, 32, 20, 45},
       {40, 32, 3, 3},
       {Ints("pads", {1, 1, 1, 1})}},
      // Stride 1 along x: interior panels are read in place (ukernel "indirect"), the others
      // packed; rows wider than one and several panels, with and without x padding.
      {"in place 3x1 unpadded", {1, 8, 10, 37}, {6, 8, 3, 1}, {}},
      {"in place stride 2x1 dilated",
       {1, 4, 12, 40},
       {8, 4, 3, 3},
       {Ints("strides", {2, 1}), Ints("dilations", {1, 2}), Ints("pads", {1, 2, 1, 2})}},
      {"in place asymmetric pads", {2, 3, 9, 30}, {5, 3, 3, 3}, {Ints("pads", {0, 2, 3, 1})}},
      {"grouped", {2, 6, 8, 7}, {9, 2, 3, 3}, {Int("group", 3), Ints("pads", {1, 0, 1, 0})}},
      {"grouped pointwise", {1, 8, 5, 5}, {4, 4, 1, 1}, {Int("group", 2)}},
      {"depthwise 3x3", {1, 7, 9, 11}, {7, 1, 3, 3}, {Int("group", 7), Ints("pads", {1, 1, 1, 1})}},
      {"depthwise wide stride 1",
       {2, 5, 6, 45},
       {5, 1, 3, 3},
       {Int("group", 5), Ints("pads", {1, 1, 1, 1})}},
      {"depthwise wide stride 2",
       {1, 4, 9, 53},
       {4, 1, 3, 3},
       {Int("group", 4), Ints("strides", {2, 2}), Ints("pads", {1, 1, 1, 1})}},
      // Row widths at, below, above and not divisible by the AVX2 kernel's 8- and 32-column
      // blocks (40 and 20 are PP-OCR's 5x5 layers).
      {"depthwise 5x5 width 40",
       {1, 3, 7, 40},
       {3, 1, 5, 5},
       {Int("group", 3), Ints("pads", {2, 2, 2, 2})}},
      {"depthwise 5x5 width 20",
       {1, 2, 6, 20},
       {2, 1, 5, 5},
       {Int("group", 2), Ints("pads", {2, 2, 2, 2})}},
      {"depthwise width 32",
       {1, 2, 5, 32},
       {2, 1, 3, 3},
       {Int("group", 2), Ints("pads", {1, 1, 1, 1})}},
      {"depthwise width 33",
       {1, 2, 5, 33},
       {2, 1, 3, 3},
       {Int("group", 2), Ints("pads", {1, 1, 1, 1})}},
      {"depthwise width 7",
       {1, 2, 5, 7},
       {2, 1, 3, 3},
       {Int("group", 2), Ints("pads", {1, 1, 1, 1})}},
      {"depthwise width 8 stride 2",
       {1, 2, 9, 16},
       {2, 1, 3, 3},
       {Int("group", 2), Ints("strides", {2, 2}), Ints("pads", {1, 1, 1, 1})}},
      {"depthwise width 65 stride 2 no pad",
       {1, 2, 9, 131},
       {2, 1, 3, 3},
       {Int("group", 2), Ints("strides", {2, 2})}},
      {"depthwise 5x5 stride 2 SAME_LOWER",
       {1, 3, 20, 40},
       {3, 1, 5, 5},
       {Int("group", 3), Ints("strides", {2, 2}), Str("auto_pad", "SAME_LOWER")}},
      {"depthwise dilation 2",
       {1, 3, 12, 30},
       {3, 1, 3, 3},
       {Int("group", 3), Ints("dilations", {2, 2}), Ints("pads", {2, 1, 0, 2})}},
      {"depthwise stride 3",
       {1, 2, 10, 31},
       {2, 1, 3, 3},
       {Int("group", 2), Ints("strides", {3, 3})},
       false},
      {"depthwise kernel wider than input",
       {1, 2, 4, 3},
       {2, 1, 3, 5},
       {Int("group", 2), Ints("pads", {1, 2, 1, 2})}},
      {"1-D", {2, 4, 37}, {6, 4, 5}, {Ints("strides", {2}), Ints("pads", {2, 1})}},
      {"1-D pointwise", {1, 9, 21}, {5, 9, 1}, {}},
      {"1-D depthwise", {1, 6, 50}, {6, 1, 3}, {Int("group", 6), Ints("pads", {1, 1})}},
      {"1-D dilated", {1, 3, 40}, {4, 3, 3}, {Ints("dilations", {3})}, false},
      // 1-D with at most 4 output positions: the gemv path (Silero's STFT and encoder shapes).
      {"1-D stft-like", {1, 1, 640}, {258, 1, 256}, {Ints("strides", {128})}},
      {"1-D 8 positions (melspectrogram)", {1, 1, 1760}, {257, 1, 512}, {Ints("strides", {160})}},
      {"1-D 5 positions grouped", {2, 8, 5}, {6, 4, 3}, {Int("group", 2), Ints("pads", {1, 1})}},
      {"1-D 9 positions (GEMM path)", {1, 3, 11}, {5, 3, 3}, {}},
      {"1-D 4 positions pad", {1, 129, 4}, {128, 129, 3}, {Ints("pads", {1, 1})}},
      {"1-D 2 positions stride",
       {2, 13, 4},
       {9, 13, 3},
       {Ints("strides", {2}), Ints("pads", {1, 1})}},
      {"1-D 1 position", {1, 33, 1}, {17, 33, 1}, {}},
      {"1-D 3 positions grouped dilated",
       {1, 6, 9},
       {10, 3, 3},
       {Int("group", 2), Ints("dilations", {2}), Ints("pads", {0, 1})},
       false},
      {"run-time weights", {1, 3, 9, 8}, {5, 3, 3, 3}, {Ints("pads", {1, 1, 1, 1})}, true, false},
      {"1-D run-time weights, few positions",
       {1, 5, 4},
       {7, 5, 3},
       {Ints("pads", {1, 1})},
       true,
       false},
      {"run-time depthwise weights", {1, 4, 9, 20}, {4, 1, 3, 3}, {Int("group", 4)}, true, false},
      {"run-time grouped weights", {1, 4, 6, 6}, {6, 2, 2, 2}, {Int("group", 2)}, true, false},
  };
  for (const ConvCase& c : cases) {
    CheckConv(c);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// FusedConv on cpu against Conv followed by the activation op on ref.
TEST(CpuConv, FusedActivations) {
  struct Act {
    std::string name;
    std::vector<float> params;
    NodeSpec ref_node;
  };
  const std::vector<Act> acts = {
      {"Relu", {}, {"Relu", {"t"}, {"y"}, {}}},
      {"Clip", {-0.25f, 0.5f}, {"Clip", {"t", "lo", "hi"}, {"y"}, {}}},
      {"LeakyRelu", {0.3f}, {"LeakyRelu", {"t"}, {"y"}, {Float("alpha", 0.3f)}}},
      {"HardSigmoid",
       {0.3f, 0.4f},
       {"HardSigmoid", {"t"}, {"y"}, {Float("alpha", 0.3f), Float("beta", 0.4f)}}},
      {"HardSwish", {}, {"HardSwish", {"t"}, {"y"}, {}}},
      {"Sigmoid", {}, {"Sigmoid", {"t"}, {"y"}, {}}},
      {"Tanh", {}, {"Tanh", {"t"}, {"y"}, {}}},
  };
  for (bool depthwise : {false, true}) {
    for (const Act& act : acts) {
      SCOPED_TRACE(act.name + (depthwise ? " depthwise" : ""));
      const int64_t m = depthwise ? 5 : 7;
      std::vector<Arg> args = {
          {"x", RandomTensor(Shape{1, 5, 9, 10}, 4)},
          {"w", RandomTensor(depthwise ? Shape{5, 1, 3, 3} : Shape{7, 5, 3, 3}, 5), true},
          {"b", RandomTensor(Shape{m}, 6), true},
          {"lo", Tensor::FromVector(DataType::kFloat32, Shape{}, std::vector<float>{-0.25f}), true},
          {"hi", Tensor::FromVector(DataType::kFloat32, Shape{}, std::vector<float>{0.5f}), true}};
      std::vector<Attr> attrs = {Ints("pads", {1, 1, 1, 1}), Int("group", depthwise ? 5 : 1)};
      std::vector<NodeSpec> ref = {{"Conv", {"x", "w", "b"}, {"t"}, attrs}, act.ref_node};
      attrs.push_back(Str("activation", act.name));
      if (!act.params.empty()) attrs.push_back(Floats("activation_params", act.params));
      std::vector<NodeSpec> fused = {{"FusedConv", {"x", "w", "b"}, {"y"}, attrs, "ai.tern"}};
      ExpectCpuMatchesRef(fused, args, &ref);
      if (HasFatalFailure()) return;
    }
  }
}

// The gemv path (1-D, few output positions) applies bias and fused activations too.
TEST(CpuConv, FusedActivationsOnFewPositions1D) {
  for (const char* act : {"Relu", "Sigmoid"}) {
    SCOPED_TRACE(act);
    std::vector<Arg> args = {{"x", RandomTensor(Shape{1, 12, 4}, 4)},
                             {"w", RandomTensor(Shape{20, 12, 3}, 5), true},
                             {"b", RandomTensor(Shape{20}, 6), true}};
    std::vector<Attr> attrs = {Ints("pads", {1, 1})};
    std::vector<NodeSpec> ref = {{"Conv", {"x", "w", "b"}, {"t"}, attrs}, {act, {"t"}, {"y"}, {}}};
    attrs.push_back(Str("activation", act));
    std::vector<NodeSpec> fused = {{"FusedConv", {"x", "w", "b"}, {"y"}, attrs, "ai.tern"}};
    ExpectCpuMatchesRef(fused, args, &ref);
    if (HasFatalFailure()) return;
  }
}

// What the cpu provider cannot run falls back to ref with a reason.
TEST(CpuConv, FallsBackWithReason) {
  std::vector<NodePlacement> placements;
  RunConfig cfg{{"cpu", "ref"}, false, 1, &placements};
  // 3-D convolution.
  auto y = RunGraph({{"Conv", {"x", "w"}, {"y"}, {}}},
                    {{"x", RandomTensor(Shape{1, 2, 4, 4, 4}, 1)},
                     {"w", RandomTensor(Shape{3, 2, 2, 2, 2}, 2), true}},
                    cfg);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ASSERT_EQ(placements.size(), 1u);
  EXPECT_EQ(placements[0].provider, "ref");
  EXPECT_NE(placements[0].reason.find("2-D"), std::string::npos) << placements[0].reason;
  // float64.
  std::vector<double> xd(16, 1.0), wd(4, 0.5);
  y = RunGraph({{"Conv", {"x", "w"}, {"y"}, {}}},
               {{"x", Tensor::FromVector(DataType::kFloat64, Shape{1, 1, 4, 4}, xd)},
                {"w", Tensor::FromVector(DataType::kFloat64, Shape{1, 1, 2, 2}, wd), true}},
               cfg);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(placements[0].provider, "ref");
  EXPECT_NE(placements[0].reason.find("float64"), std::string::npos) << placements[0].reason;
  // Strict cpu refuses.
  y = RunGraph({{"Conv", {"x", "w"}, {"y"}, {}}},
               {{"x", Tensor::FromVector(DataType::kFloat64, Shape{1, 1, 4, 4}, xd)},
                {"w", Tensor::FromVector(DataType::kFloat64, Shape{1, 1, 2, 2}, wd), true}},
               {{"cpu"}, true, 1});
  EXPECT_FALSE(y.ok());
}

TEST(CpuConv, BadShapeIsAnError) {
  // Run-time weights whose channels do not match X: an error, not a crash.
  auto y = RunGraph(
      {{"Conv", {"x", "w"}, {"y"}, {}}},
      {{"x", RandomTensor(Shape{1, 3, 5, 5}, 1)}, {"w", RandomTensor(Shape{2, 4, 3, 3}, 2)}},
      {{"cpu"}, true, 1});
  EXPECT_FALSE(y.ok());
}

}  // namespace
}  // namespace tern::cputest
