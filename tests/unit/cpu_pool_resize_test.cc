// The cpu provider's pooling (global and windowed) and Resize against the reference provider on
// awkward shapes: paddings, strides, dilations, ceil_mode, count_include_pad, non-integer
// scales, every supported coordinate transformation and nearest mode, sizes instead of scales.
#include <string>
#include <vector>

#include "cpu_test_util.h"

namespace tern::cputest {
namespace {

TEST(CpuPool, GlobalMatchesRef) {
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"})
    for (const Shape& s :
         {Shape{1, 3, 5, 7}, Shape{2, 17, 40, 41}, Shape{1, 4, 33}, Shape{1, 2, 1, 1}}) {
      SCOPED_TRACE(std::string(op) + " " + s.ToString());
      ExpectCpuMatchesRef({{op, {"x"}, {"y"}, {}}}, {{"x", RandomTensor(s, 1)}});
      if (HasFatalFailure()) return;
    }
}

TEST(CpuPool, WindowedMatchesRef) {
  struct Case {
    Shape x;
    std::vector<Attr> attrs;
  };
  const std::vector<Case> cases = {
      {Shape{1, 3, 9, 11}, {Ints("kernel_shape", {3, 3})}},
      {Shape{2, 4, 12, 13},
       {Ints("kernel_shape", {3, 3}), Ints("strides", {2, 2}), Ints("pads", {1, 1, 1, 1})}},
      {Shape{1, 2, 12, 13},
       {Ints("kernel_shape", {3, 2}), Ints("strides", {2, 3}), Int("ceil_mode", 1),
        Ints("pads", {0, 1, 1, 0})}},
      {Shape{1, 2, 15, 40},
       {Ints("kernel_shape", {2, 3}), Ints("dilations", {2, 2}), Ints("pads", {1, 2, 1, 2})}},
      {Shape{1, 3, 10, 10}, {Ints("kernel_shape", {3, 3}), Str("auto_pad", "SAME_UPPER")}},
      {Shape{1, 3, 10, 10},
       {Ints("kernel_shape", {2, 2}), Ints("strides", {2, 2}), Str("auto_pad", "SAME_LOWER")}},
      {Shape{1, 64, 76, 32}, {Ints("kernel_shape", {2, 2}), Ints("strides", {2, 2})}},
      {Shape{2, 3, 29}, {Ints("kernel_shape", {4}), Ints("strides", {3}), Ints("pads", {2, 1})}},
  };
  for (const char* op : {"MaxPool", "AveragePool"})
    for (const Case& c : cases)
      for (int include_pad = 0; include_pad < 2; ++include_pad) {
        if (include_pad && std::string(op) == "MaxPool") continue;
        std::vector<Attr> attrs = c.attrs;
        if (include_pad) attrs.push_back(Int("count_include_pad", 1));
        SCOPED_TRACE(std::string(op) + " " + c.x.ToString() + " case " +
                     std::to_string(&c - &cases[0]) + (include_pad ? " count_include_pad" : ""));
        ExpectCpuMatchesRef({{op, {"x"}, {"y"}, attrs}}, {{"x", RandomTensor(c.x, 2)}});
        if (HasFatalFailure()) return;
      }
}

TEST(CpuPool, IndicesFallBackToRef) {
  std::vector<NodePlacement> placements;
  NodeSpec n{"MaxPool", {"x"}, {"y", "i"}, {Ints("kernel_shape", {2, 2})}};
  auto y = RunGraph({n}, {{"x", RandomTensor(Shape{1, 1, 4, 4}, 1)}},
                    {{"cpu", "ref"}, false, 1, &placements});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(placements[0].provider, "ref");
}

Tensor Floats1D(std::vector<float> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::FromVector(DataType::kFloat32, Shape{n}, v);
}

TEST(CpuResize, MatchesRef) {
  struct Case {
    std::string mode, ctm, nearest;
    std::vector<float> scales;
  };
  const std::vector<Case> cases = {
      {"nearest", "asymmetric", "floor", {1, 1, 2, 2}},
      {"nearest", "asymmetric", "round_prefer_floor", {1, 1, 4, 8}},
      {"nearest", "half_pixel", "round_prefer_floor", {1, 1, 1.7f, 0.6f}},
      {"nearest", "half_pixel", "round_prefer_ceil", {1, 1, 2.5f, 3}},
      {"nearest", "align_corners", "ceil", {1, 1, 1.5f, 2}},
      {"nearest", "tf_half_pixel_for_nn", "floor", {1, 1, 0.5f, 2}},
      {"linear", "half_pixel", "", {1, 1, 2, 2}},
      {"linear", "pytorch_half_pixel", "", {1, 1, 1.3f, 0.7f}},
      {"linear", "align_corners", "", {1, 1, 3, 2}},
      {"linear", "asymmetric", "", {1, 1, 0.5f, 1.5f}},
      {"linear", "half_pixel_symmetric", "", {1, 1, 2.2f, 1.9f}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.mode + " " + c.ctm + " " + c.nearest);
    std::vector<Attr> attrs = {Str("mode", c.mode), Str("coordinate_transformation_mode", c.ctm)};
    if (!c.nearest.empty()) attrs.push_back(Str("nearest_mode", c.nearest));
    for (bool constant : {true, false}) {
      ExpectCpuMatchesRef(
          {{"Resize", {"x", "", "scales"}, {"y"}, attrs}},
          {{"x", RandomTensor(Shape{2, 3, 7, 10}, 3)}, {"scales", Floats1D(c.scales), constant}});
      if (HasFatalFailure()) return;
    }
  }
  // Sizes instead of scales.
  const std::vector<int64_t> sizes = {1, 2, 13, 5};
  ExpectCpuMatchesRef({{"Resize", {"x", "", "", "sizes"}, {"y"}, {Str("mode", "linear")}}},
                      {{"x", RandomTensor(Shape{1, 2, 6, 9}, 4)},
                       {"sizes", Tensor::FromVector(DataType::kInt64, Shape{4}, sizes), true}});
}

TEST(CpuResize, ResizingChannelsUsesTheReferencePath) {
  // A run-time case the fast path does not take: still correct.
  ExpectCpuMatchesRef(
      {{"Resize", {"x", "", "scales"}, {"y"}, {Str("mode", "nearest")}}},
      {{"x", RandomTensor(Shape{1, 2, 3, 4}, 5)}, {"scales", Floats1D({1, 2, 1, 1.5f})}});
}

}  // namespace
}  // namespace tern::cputest
