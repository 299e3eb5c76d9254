// The cpu provider's ConvTranspose and BatchNormalization against the reference provider:
// strides, overlapping and sparse kernels, pads, dilations, output_padding, groups, 1-D; BN with
// constant and run-time parameters.
#include <string>
#include <vector>

#include "cpu_test_util.h"

namespace tern::cputest {
namespace {

TEST(CpuConvTranspose, MatchesRef) {
  struct Case {
    Shape x, w;
    std::vector<Attr> attrs;
    bool bias;
  };
  const std::vector<Case> cases = {
      {Shape{1, 8, 10, 10}, Shape{8, 4, 2, 2}, {Ints("strides", {2, 2})}, true},
      {Shape{2, 5, 7, 9},
       Shape{5, 3, 3, 3},
       {Ints("strides", {2, 2}), Ints("pads", {1, 1, 1, 1})},
       true},
      {Shape{1, 4, 6, 5}, Shape{4, 2, 3, 2}, {}, false},
      {Shape{1, 3, 5, 6},
       Shape{3, 2, 3, 3},
       {Ints("strides", {3, 2}), Ints("dilations", {2, 1}), Ints("pads", {0, 2, 1, 1}),
        Ints("output_padding", {1, 1})},
       true},
      {Shape{1, 6, 4, 4}, Shape{6, 2, 3, 3}, {Int("group", 3), Ints("strides", {2, 2})}, true},
      {Shape{1, 3, 4, 4}, Shape{3, 2, 2, 2}, {Ints("strides", {4, 4})}, true},  // gaps
      {Shape{2, 4, 11}, Shape{4, 3, 4}, {Ints("strides", {2}), Ints("pads", {1, 2})}, true},
      {Shape{1, 24, 40, 40}, Shape{24, 6, 2, 2}, {Ints("strides", {2, 2})}, true},  // threads
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.x.ToString() + " " + c.w.ToString());
    std::vector<Arg> args = {{"x", RandomTensor(c.x, 1)}, {"w", RandomTensor(c.w, 2), true}};
    std::vector<std::string> in = {"x", "w"};
    int64_t group = 1;
    for (const Attr& a : c.attrs)
      if (a.name == "group") group = a.ints[0];
    if (c.bias) {
      args.push_back({"b", RandomTensor(Shape{c.w[1] * group}, 3), true});
      in.push_back("b");
    }
    ExpectCpuMatchesRef({{"ConvTranspose", in, {"y"}, c.attrs}}, args);
    if (HasFatalFailure()) return;
  }
}

TEST(CpuConvTranspose, OutputShapeFallsBackToRef) {
  std::vector<NodePlacement> placements;
  auto y = RunGraph(
      {{"ConvTranspose",
        {"x", "w"},
        {"y"},
        {Ints("output_shape", {9, 9}), Ints("strides", {2, 2})}}},
      {{"x", RandomTensor(Shape{1, 2, 4, 4}, 1)}, {"w", RandomTensor(Shape{2, 3, 3, 3}, 2), true}},
      {{"cpu", "ref"}, false, 1, &placements});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(placements[0].provider, "ref");
}

TEST(CpuBatchNorm, MatchesRef) {
  for (bool constant : {true, false})
    for (const Shape& s : {Shape{2, 5, 7, 9}, Shape{1, 24, 80, 80}, Shape{3, 4}}) {
      SCOPED_TRACE(s.ToString() + (constant ? " constant" : " run-time"));
      const Shape c{s[1]};
      Tensor var = RandomTensor(c, 14);
      for (int64_t i = 0; i < var.numel(); ++i)
        var.data<float>()[i] = 0.1f + std::abs(var.data<float>()[i]);
      ExpectCpuMatchesRef(
          {{"BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, {Float("epsilon", 1e-3f)}}},
          {{"x", RandomTensor(s, 10)},
           {"s", RandomTensor(c, 11), constant},
           {"b", RandomTensor(c, 12), constant},
           {"m", RandomTensor(c, 13), constant},
           {"v", var, constant}});
      if (HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace tern::cputest
