// The cpu provider's Slice, Pow and Transpose against the reference provider. Slice: positive and negative steps,
// out-of-range and negative starts/ends, negative and omitted axes, ranks 1 to 4, int64 data,
// the opset-9 attribute form, and fallback to ref when the parameters are not constant.
#include <string>
#include <vector>

#include "cpu_test_util.h"

namespace tern::cputest {
namespace {

Tensor Ints64(std::vector<int64_t> v) {
  return Tensor::FromVector(DataType::kInt64, Shape{static_cast<int64_t>(v.size())}, v);
}

struct SliceCase {
  Shape shape;
  std::vector<int64_t> starts, ends, axes, steps;  // axes/steps empty: omitted
};

std::vector<SliceCase> Cases() {
  return {
      {Shape{10}, {2}, {7}, {}, {}},
      {Shape{10}, {-3}, {100}, {0}, {}},
      {Shape{10}, {9}, {-100}, {0}, {-2}},
      {Shape{4, 6}, {1, 0}, {3, 6}, {}, {}},
      {Shape{4, 6}, {0}, {-1}, {-1}, {}},
      {Shape{4, 6}, {5, 3}, {0, -10}, {1, 0}, {-2, -1}},
      {Shape{2, 3, 5, 7}, {0, 1, 6}, {1, 3, 1}, {0, -3, 3}, {1, 1, -2}},
      {Shape{2, 3, 5, 7}, {1}, {3}, {2}, {2}},
      {Shape{3, 258, 4}, {0}, {129}, {1}, {}},   // the STFT real part
      {Shape{3, 258, 4}, {129}, {1000}, {1}, {}},
      {Shape{4, 5}, {3}, {1}, {0}, {}},          // empty result
      {Shape{4, 5}, {2}, {4}, {1}, {int64_t{-9223372036854775807} - 1}},
  };
}

TEST(CpuSliceOp, MatchesRef) {
  for (const SliceCase& c : Cases()) {
    SCOPED_TRACE("shape " + c.shape.ToString());
    std::vector<Arg> args = {{"x", RandomTensor(c.shape, 7)},
                             {"starts", Ints64(c.starts), true},
                             {"ends", Ints64(c.ends), true}};
    std::vector<std::string> inputs = {"x", "starts", "ends"};
    if (!c.axes.empty() || !c.steps.empty()) {
      std::vector<int64_t> axes = c.axes;
      if (axes.empty())
        for (size_t i = 0; i < c.starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
      args.push_back({"axes", Ints64(axes), true});
      inputs.push_back("axes");
    }
    if (!c.steps.empty()) {
      args.push_back({"steps", Ints64(c.steps), true});
      inputs.push_back("steps");
    }
    ExpectCpuMatchesRef({{"Slice", inputs, {"y"}, {}}}, args);
    if (HasFatalFailure()) return;
  }
}

TEST(CpuSliceOp, Int64DataAndOpset9Attributes) {
  std::vector<int64_t> data(24);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int64_t>(i * 3 + 1);
  std::vector<Arg> args = {{"x", Tensor::FromVector(DataType::kInt64, Shape{2, 3, 4}, data)}};
  std::vector<NodeSpec> nodes = {{"Slice", {"x"}, {"y"},
                                  {Ints("starts", {1, -1}), Ints("ends", {3, -5}),
                                   Ints("axes", {1, 2})}}};
  auto want = RunGraph(nodes, args, {{"ref"}, true, 1}, 9);
  auto got = RunGraph(nodes, args, {{"cpu"}, true, 1}, 9);
  ASSERT_TRUE(want.ok()) << want.status().ToString();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->shape(), want->shape());
  // ends -5 on a dim of 4 clamps to 0, so the result is empty; check a non-empty one too.
  nodes[0].attrs = {Ints("starts", {1, 1}), Ints("ends", {3, 100}), Ints("axes", {-2, -1})};
  want = RunGraph(nodes, args, {{"ref"}, true, 1}, 9);
  got = RunGraph(nodes, args, {{"cpu"}, true, 1}, 9);
  ASSERT_TRUE(want.ok() && got.ok());
  ASSERT_EQ(got->shape(), want->shape());
  ASSERT_EQ(got->shape(), (Shape{2, 2, 3}));
  for (int64_t i = 0; i < got->numel(); ++i)
    EXPECT_EQ(got->data<int64_t>()[i], want->data<int64_t>()[i]) << "at " << i;
}

TEST(CpuSliceOp, BadAxesFailAndRuntimeParametersFallBack) {
  std::vector<Arg> args = {{"x", RandomTensor(Shape{4, 5}, 1)},
                           {"starts", Ints64({0, 0}), true},
                           {"ends", Ints64({1, 1}), true},
                           {"axes", Ints64({1, -1}), true}};
  auto got = RunGraph({{"Slice", {"x", "starts", "ends", "axes"}, {"y"}, {}}}, args,
                      {{"cpu"}, true, 1});
  EXPECT_FALSE(got.ok());  // axis 1 given twice
  args[3].t = Ints64({0, 2});
  got = RunGraph({{"Slice", {"x", "starts", "ends", "axes"}, {"y"}, {}}}, args, {{"cpu"}, true, 1});
  EXPECT_FALSE(got.ok());  // axis 2 is out of range
  // starts fed at run time: the node goes to ref.
  args[1].constant = false;
  args[3].t = Ints64({0, 1});
  std::vector<NodePlacement> placements;
  got = RunGraph({{"Slice", {"x", "starts", "ends", "axes"}, {"y"}, {}}}, args,
                 {{"cpu", "ref"}, false, 1, &placements});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(placements.size(), 1u);
  EXPECT_EQ(placements[0].provider, "ref");
}

}  // namespace
}  // namespace tern::cputest

namespace tern::cputest {
namespace {

// Pow with a constant scalar exponent (the cpu form) against ref; other forms fall back.
TEST(CpuPowOp, ConstantScalarExponentMatchesRef) {
  for (float e : {2.0f, 1.0f, 0.5f, 3.0f, -1.5f}) {
    SCOPED_TRACE("exponent " + std::to_string(e));
    for (const Shape& exp_shape : {Shape{}, Shape{1, 1, 1, 1}}) {
      std::vector<float> xs(2 * 3 * 5);
      for (size_t i = 0; i < xs.size(); ++i) xs[i] = 0.1f + 0.37f * static_cast<float>(i);
      std::vector<Arg> args = {
          {"x", Tensor::FromVector(DataType::kFloat32, Shape{2, 3, 5}, xs)},
          {"e", Tensor::FromVector(DataType::kFloat32, exp_shape, std::vector<float>{e}), true}};
      ExpectCpuMatchesRef({{"Pow", {"x", "e"}, {"y"}, {}}}, args);
      if (HasFatalFailure()) return;
    }
  }
  std::vector<Arg> args = {{"x", RandomTensor(Shape{4}, 1)}, {"e", RandomTensor(Shape{4}, 2), true}};
  std::vector<NodePlacement> placements;
  auto got = RunGraph({{"Pow", {"x", "e"}, {"y"}, {}}}, args, {{"cpu", "ref"}, false, 1, &placements});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(placements[0].provider, "ref");  // an exponent per element is not the cpu form
}

}  // namespace
}  // namespace tern::cputest

namespace tern::cputest {
namespace {

TEST(CpuTransposeOp, MatchesRef) {
  struct Case {
    Shape shape;
    std::vector<int64_t> perm;  // empty: default (reversed)
  };
  const std::vector<Case> cases = {
      {Shape{5, 7}, {1, 0}},          {Shape{5, 7}, {}},
      {Shape{1, 257, 8}, {0, 2, 1}},  // melspectrogram
      {Shape{2, 3, 4}, {2, 0, 1}},    {Shape{2, 3, 4}, {0, 1, 2}},
      {Shape{2, 3, 4, 5}, {0, 2, 3, 1}}, {Shape{3, 1, 4, 1}, {3, 1, 0, 2}},
      {Shape{2, 3, 4}, {-1, 0, 1}},   {Shape{6}, {0}},
      {Shape{2, 0, 3}, {2, 1, 0}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("shape " + c.shape.ToString());
    std::vector<Attr> attrs;
    if (!c.perm.empty()) attrs.push_back(Ints("perm", c.perm));
    ExpectCpuMatchesRef({{"Transpose", {"x"}, {"y"}, attrs}}, {{"x", RandomTensor(c.shape, 3)}});
    if (HasFatalFailure()) return;
  }
  for (const std::vector<int64_t>& bad : {std::vector<int64_t>{0, 0, 1}, {0, 1}, {0, 1, 3}}) {
    auto got = RunGraph({{"Transpose", {"x"}, {"y"}, {Ints("perm", bad)}}},
                        {{"x", RandomTensor(Shape{2, 3, 4}, 1)}}, {{"cpu"}, true, 1});
    EXPECT_FALSE(got.ok()) << "perm of size " << bad.size();
  }
}

}  // namespace
}  // namespace tern::cputest
