// Unit tests for the shape and data-movement reference kernels: error paths (bad indices, bad
// attributes, mismatched shapes) and behaviour the ONNX 1.12 conformance data does not cover
// (opset 18/19 features, strings, reductions max/min, overflow guards).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "tern/session.h"
#include "tern/tensor.h"

namespace tern {
namespace {

using AttrFn = std::function<void(::onnx::NodeProto&)>;

void AttrInt(::onnx::NodeProto& n, const char* name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
void AttrInts(::onnx::NodeProto& n, const char* name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void AttrString(::onnx::NodeProto& n, const char* name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}

/// Runs a one-node model. An undefined tensor in `inputs` is an omitted optional input.
Result<std::vector<Value>> RunOp(const std::string& op, int opset,
                                 const std::vector<Tensor>& inputs, int num_outputs,
                                 const AttrFn& attrs = nullptr) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("node");
  std::vector<Value> feeds;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) {
      n->add_input("");
      continue;
    }
    const std::string name = "in" + std::to_string(i);
    n->add_input(name);
    auto* vi = g->add_input();
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(
        static_cast<int32_t>(inputs[i].dtype()));
    feeds.emplace_back(inputs[i]);
  }
  for (int i = 0; i < num_outputs; ++i) {
    const std::string name = "out" + std::to_string(i);
    n->add_output(name);
    g->add_output()->set_name(name);
  }
  if (attrs) attrs(*n);
  std::string bytes;
  m.SerializeToString(&bytes);
  TERN_ASSIGN_OR_RETURN(auto session, Session::LoadFromMemory(bytes.data(), bytes.size()));
  std::vector<Value> outs;
  TERN_RETURN_IF_ERROR(session->Run(feeds, &outs));
  return outs;
}

Tensor F32(const Shape& s, const std::vector<float>& v) {
  return Tensor::FromVector(DataType::kFloat32, s, v);
}
Tensor I64(const Shape& s, const std::vector<int64_t>& v) {
  return Tensor::FromVector(DataType::kInt64, s, v);
}
Tensor Str(const Shape& s, const std::vector<std::string>& v) {
  return Tensor::FromVector(DataType::kString, s, v);
}
Tensor Bool(const Shape& s, const std::vector<uint8_t>& v) {
  return Tensor::FromVector(DataType::kBool, s, v);
}

template <typename T>
std::vector<T> Vals(const Value& v) {
  const Tensor& t = v.tensor;
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

StatusCode CodeOf(const Result<std::vector<Value>>& r) { return r.status().code(); }

// ---- views ----

TEST(RefShape, ReshapeInfersAndCopiesZeroDims) {
  auto r = RunOp("Reshape", 14, {F32({2, 3, 4}, std::vector<float>(24)), I64({3}, {0, -1, 2})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].tensor.shape(), (Shape{2, 6, 2}));
}

TEST(RefShape, ReshapeAllowZeroKeepsZero) {
  auto r = RunOp("Reshape", 14,
                 {Tensor::Allocate(DataType::kFloat32, Shape{0, 3}).value(), I64({2}, {3, 0})}, 1,
                 [](auto& n) { AttrInt(n, "allowzero", 1); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].tensor.shape(), (Shape{3, 0}));
}

TEST(RefShape, ReshapeErrors) {
  Tensor x = F32({2, 3}, std::vector<float>(6));
  EXPECT_EQ(CodeOf(RunOp("Reshape", 14, {x, I64({2}, {-1, -1})}, 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Reshape", 14, {x, I64({2}, {4, 2})}, 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Reshape", 14, {x, I64({1}, {-5})}, 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Reshape", 14, {x, I64({3}, {1, 1, 0})}, 1)),
            StatusCode::kInvalidArgument);  // 0 beyond the input rank
  EXPECT_EQ(CodeOf(RunOp("Reshape", 14, {x, I64({2}, {0, -1})}, 1,
                         [](auto& n) { AttrInt(n, "allowzero", 1); })),
            StatusCode::kInvalidArgument);
}

TEST(RefShape, ReshapeStrings) {
  auto r = RunOp("Reshape", 14, {Str({2, 2}, {"a", "b", "c", "d"}), I64({1}, {4})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<std::string>((*r)[0]), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(RefShape, SqueezeUnsqueezeErrors) {
  Tensor x = F32({2, 1}, {1, 2});
  EXPECT_EQ(CodeOf(RunOp("Squeeze", 13, {x, I64({1}, {0})}, 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Squeeze", 13, {x, I64({1}, {2})}, 1)), StatusCode::kOutOfRange);
  EXPECT_EQ(CodeOf(RunOp("Unsqueeze", 13, {x, I64({2}, {0, 0})}, 1)), StatusCode::kInvalidArgument);
  auto r = RunOp("Unsqueeze", 11, {x}, 1, [](auto& n) { AttrInts(n, "axes", {-1, 0}); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].tensor.shape(), (Shape{1, 2, 1, 1}));
  auto s = RunOp("Squeeze", 13, {x}, 1);  // no axes: all 1-dims
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)[0].tensor.shape(), (Shape{2}));
}

TEST(RefShape, FlattenAxisOutOfRange) {
  EXPECT_EQ(CodeOf(RunOp("Flatten", 13, {F32({2, 3}, std::vector<float>(6))}, 1,
                         [](auto& n) { AttrInt(n, "axis", 3); })),
            StatusCode::kOutOfRange);
}

// ---- movement ----

TEST(RefShape, TransposeStringsAndBadPerm) {
  auto r = RunOp("Transpose", 13, {Str({2, 3}, {"a", "b", "c", "d", "e", "f"})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<std::string>((*r)[0]), (std::vector<std::string>{"a", "d", "b", "e", "c", "f"}));
  EXPECT_EQ(CodeOf(RunOp("Transpose", 13, {F32({2, 3}, std::vector<float>(6))}, 1,
                         [](auto& n) {
                           AttrInts(n, "perm", {0, 0});
                         })),
            StatusCode::kInvalidArgument);
}

TEST(RefShape, ConcatMismatch) {
  EXPECT_EQ(CodeOf(RunOp("Concat", 13,
                         {F32({2, 2}, std::vector<float>(4)), F32({3, 3}, std::vector<float>(9))},
                         1, [](auto& n) { AttrInt(n, "axis", 0); })),
            StatusCode::kInvalidArgument);
  auto r = RunOp("Concat", 13, {Str({1}, {"x"}), Str({2}, {"y", "z"})}, 1,
                 [](auto& n) { AttrInt(n, "axis", 0); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<std::string>((*r)[0]), (std::vector<std::string>{"x", "y", "z"}));
}

TEST(RefShape, SplitNumOutputsUneven) {
  auto r = RunOp("Split", 18, {F32({5}, {1, 2, 3, 4, 5})}, 3,
                 [](auto& n) { AttrInt(n, "num_outputs", 3); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<float>((*r)[0]), (std::vector<float>{1, 2}));
  EXPECT_EQ(Vals<float>((*r)[1]), (std::vector<float>{3, 4}));
  EXPECT_EQ(Vals<float>((*r)[2]), (std::vector<float>{5}));
}

TEST(RefShape, SplitErrors) {
  Tensor x = F32({5}, {1, 2, 3, 4, 5});
  EXPECT_EQ(CodeOf(RunOp("Split", 13, {x, I64({2}, {2, 2})}, 2)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Split", 13, {x}, 2)), StatusCode::kInvalidArgument);  // 5 into 2
  EXPECT_EQ(CodeOf(RunOp("Split", 13, {x, I64({2}, {-1, 6})}, 2)), StatusCode::kInvalidArgument);
}

TEST(RefShape, SliceNegativeStepsAndExtremes) {
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  Tensor x = F32({5}, {0, 1, 2, 3, 4});
  auto r =
      RunOp("Slice", 13, {x, I64({1}, {kMax}), I64({1}, {kMin}), I64({1}, {0}), I64({1}, {-2})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<float>((*r)[0]), (std::vector<float>{4, 2, 0}));
  auto big =
      RunOp("Slice", 13, {x, I64({1}, {0}), I64({1}, {kMax}), Tensor(), I64({1}, {kMax})}, 1);
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  EXPECT_EQ(Vals<float>((*big)[0]), (std::vector<float>{0}));
  auto neg =
      RunOp("Slice", 13, {x, I64({1}, {-1}), I64({1}, {kMin}), Tensor(), I64({1}, {kMin})}, 1);
  ASSERT_TRUE(neg.ok()) << neg.status().ToString();
  EXPECT_EQ(Vals<float>((*neg)[0]), (std::vector<float>{4}));
  EXPECT_EQ(
      CodeOf(RunOp("Slice", 13, {x, I64({1}, {0}), I64({1}, {3}), Tensor(), I64({1}, {0})}, 1)),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Slice", 13, {x, I64({1}, {0}), I64({1}, {3}), I64({1}, {1})}, 1)),
            StatusCode::kOutOfRange);
}

TEST(RefShape, GatherFamilyOutOfRange) {
  Tensor x = F32({2, 2}, {1, 2, 3, 4});
  EXPECT_EQ(CodeOf(RunOp("Gather", 13, {x, I64({1}, {2})}, 1)), StatusCode::kOutOfRange);
  EXPECT_EQ(CodeOf(RunOp("Gather", 13, {x, I64({1}, {-3})}, 1)), StatusCode::kOutOfRange);
  EXPECT_EQ(CodeOf(RunOp("GatherElements", 13, {x, I64({2, 1}, {0, 5})}, 1)),
            StatusCode::kOutOfRange);
  EXPECT_EQ(CodeOf(RunOp("GatherND", 13, {x, I64({1, 2}, {0, 2})}, 1)), StatusCode::kOutOfRange);
  auto r = RunOp("Gather", 13, {Str({3}, {"a", "b", "c"}), I64({2}, {-1, 0})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<std::string>((*r)[0]), (std::vector<std::string>{"c", "a"}));
}

TEST(RefShape, GatherNDBatchDims) {
  // data [2,2,2], indices [2,1] with batch_dims=1: picks row idx of each batch.
  auto r = RunOp("GatherND", 13, {F32({2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}), I64({2, 1}, {1, 0})}, 1,
                 [](auto& n) { AttrInt(n, "batch_dims", 1); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].tensor.shape(), (Shape{2, 2}));
  EXPECT_EQ(Vals<float>((*r)[0]), (std::vector<float>{2, 3, 4, 5}));
}

TEST(RefShape, ScatterReductionsAndErrors) {
  Tensor x = F32({4}, {1, 5, 3, 7});
  auto mx = RunOp("ScatterElements", 18, {x, I64({3}, {0, 0, 3}), F32({3}, {4, 2, 6})}, 1,
                  [](auto& n) { AttrString(n, "reduction", "max"); });
  ASSERT_TRUE(mx.ok()) << mx.status().ToString();
  EXPECT_EQ(Vals<float>((*mx)[0]), (std::vector<float>{4, 5, 3, 7}));
  auto mn = RunOp("ScatterND", 18, {x, I64({2, 1}, {1, 1}), F32({2}, {4, 9})}, 1,
                  [](auto& n) { AttrString(n, "reduction", "min"); });
  ASSERT_TRUE(mn.ok()) << mn.status().ToString();
  EXPECT_EQ(Vals<float>((*mn)[0]), (std::vector<float>{1, 4, 3, 7}));
  EXPECT_EQ(CodeOf(RunOp("ScatterElements", 13, {x, I64({1}, {4}), F32({1}, {0})}, 1)),
            StatusCode::kOutOfRange);
  EXPECT_EQ(CodeOf(RunOp("ScatterND", 13, {x, I64({1, 1}, {-5}), F32({1}, {0})}, 1)),
            StatusCode::kOutOfRange);
  EXPECT_EQ(CodeOf(RunOp("ScatterND", 13, {x, I64({1, 1}, {0}), F32({2}, {0, 0})}, 1)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("ScatterElements", 18, {x, I64({1}, {0}), F32({1}, {0})}, 1,
                         [](auto& n) { AttrString(n, "reduction", "avg"); })),
            StatusCode::kInvalidModel);
}

TEST(RefShape, ExpandTileErrors) {
  Tensor x = F32({2}, {1, 2});
  EXPECT_EQ(CodeOf(RunOp("Expand", 13, {x, I64({1}, {3})}, 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Tile", 13, {x, I64({1}, {-1})}, 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Tile", 13, {x, I64({2}, {1, 1})}, 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Tile", 13, {x, I64({1}, {std::numeric_limits<int64_t>::max()})}, 1)),
            StatusCode::kResourceExhausted);
  auto r = RunOp("Expand", 13, {Str({1}, {"s"}), I64({2}, {2, 1})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<std::string>((*r)[0]), (std::vector<std::string>{"s", "s"}));
}

TEST(RefShape, PadModes) {
  Tensor x = F32({3}, {1, 2, 3});
  auto refl =
      RunOp("Pad", 13, {x, I64({2}, {2, 2})}, 1, [](auto& n) { AttrString(n, "mode", "reflect"); });
  ASSERT_TRUE(refl.ok()) << refl.status().ToString();
  EXPECT_EQ(Vals<float>((*refl)[0]), (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  auto edge =
      RunOp("Pad", 13, {x, I64({2}, {1, -1})}, 1, [](auto& n) { AttrString(n, "mode", "edge"); });
  ASSERT_TRUE(edge.ok()) << edge.status().ToString();
  EXPECT_EQ(Vals<float>((*edge)[0]), (std::vector<float>{1, 1, 2}));
  auto wrap =
      RunOp("Pad", 19, {x, I64({2}, {1, 2})}, 1, [](auto& n) { AttrString(n, "mode", "wrap"); });
  ASSERT_TRUE(wrap.ok()) << wrap.status().ToString();
  EXPECT_EQ(Vals<float>((*wrap)[0]), (std::vector<float>{3, 1, 2, 3, 1, 2}));
  // opset 18 axes input: pad only the last axis of a [1,2] tensor with 9.
  auto axes =
      RunOp("Pad", 18, {F32({1, 2}, {1, 2}), I64({2}, {1, 0}), F32({}, {9}), I64({1}, {-1})}, 1);
  ASSERT_TRUE(axes.ok()) << axes.status().ToString();
  EXPECT_EQ(Vals<float>((*axes)[0]), (std::vector<float>{9, 1, 2}));
  EXPECT_EQ(CodeOf(RunOp("Pad", 13, {x, I64({2}, {-2, -2})}, 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Pad", 13, {x, I64({3}, {1, 1, 1})}, 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("Pad", 13, {x, I64({2}, {1, 1})}, 1,
                         [](auto& n) { AttrString(n, "mode", "bogus"); })),
            StatusCode::kInvalidModel);
}

// ---- generators ----

TEST(RefShape, ShapeStartEnd) {
  auto r = RunOp("Shape", 15, {F32({2, 3, 4}, std::vector<float>(24))}, 1, [](auto& n) {
    AttrInt(n, "start", -2);
    AttrInt(n, "end", 100);
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<int64_t>((*r)[0]), (std::vector<int64_t>{3, 4}));
}

TEST(RefShape, RangeEdges) {
  EXPECT_EQ(CodeOf(RunOp("Range", 11, {I64({}, {0}), I64({}, {5}), I64({}, {0})}, 1)),
            StatusCode::kInvalidArgument);
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(CodeOf(RunOp("Range", 11, {I64({}, {-kMax}), I64({}, {kMax}), I64({}, {1})}, 1)),
            StatusCode::kResourceExhausted);
  auto r = RunOp("Range", 11, {I64({}, {kMax - 1}), I64({}, {kMax}), I64({}, {5})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<int64_t>((*r)[0]), (std::vector<int64_t>{kMax - 1}));
  auto e = RunOp("Range", 11, {I64({}, {5}), I64({}, {0}), I64({}, {1})}, 1);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)[0].tensor.numel(), 0);
}

TEST(RefShape, ConstantOfShapeNegativeDim) {
  EXPECT_EQ(CodeOf(RunOp("ConstantOfShape", 9, {I64({2}, {2, -1})}, 1)),
            StatusCode::kInvalidArgument);
}

TEST(RefShape, EyeLikeOffDiagonalAndRank) {
  auto r = RunOp("EyeLike", 9, {F32({2, 3}, std::vector<float>(6))}, 1,
                 [](auto& n) { AttrInt(n, "k", -1); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<float>((*r)[0]), (std::vector<float>{0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(CodeOf(RunOp("EyeLike", 9, {F32({3}, std::vector<float>(3))}, 1)),
            StatusCode::kInvalidArgument);
}

TEST(RefShape, TriluStrings) {
  auto r = RunOp("Trilu", 14, {Str({2, 2}, {"a", "b", "c", "d"})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<std::string>((*r)[0]), (std::vector<std::string>{"a", "b", "", "d"}));
}

TEST(RefShape, OneHotOutOfRangeIsOff) {
  auto r = RunOp("OneHot", 11, {I64({2}, {5, -1}), I64({}, {3}), F32({2}, {0, 1})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<float>((*r)[0]), (std::vector<float>{0, 0, 0, 0, 0, 1}));
  EXPECT_EQ(CodeOf(RunOp("OneHot", 11, {I64({1}, {0}), I64({}, {0}), F32({2}, {0, 1})}, 1)),
            StatusCode::kInvalidArgument);
}

// ---- selection and ordering ----

TEST(RefShape, WhereStringsBroadcast) {
  auto r = RunOp("Where", 16, {Bool({2}, {1, 0}), Str({1}, {"x"}), Str({2}, {"a", "b"})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<std::string>((*r)[0]), (std::vector<std::string>{"x", "b"}));
  EXPECT_EQ(
      CodeOf(RunOp("Where", 16, {Bool({2}, {1, 0}), F32({3}, {1, 2, 3}), F32({2}, {1, 2})}, 1)),
      StatusCode::kInvalidArgument);
}

TEST(RefShape, CompressTooLongCondition) {
  EXPECT_EQ(CodeOf(RunOp("Compress", 11, {F32({2}, {1, 2}), Bool({3}, {1, 0, 1})}, 1)),
            StatusCode::kInvalidArgument);
}

TEST(RefShape, TopKTiesAndBadK) {
  Tensor x = F32({5}, {3, 1, 3, 2, 3});
  auto r = RunOp("TopK", 11, {x, I64({1}, {3})}, 2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<int64_t>((*r)[1]), (std::vector<int64_t>{0, 2, 4}));
  auto s = RunOp("TopK", 11, {x, I64({1}, {2})}, 2, [](auto& n) { AttrInt(n, "largest", 0); });
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(Vals<int64_t>((*s)[1]), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(CodeOf(RunOp("TopK", 11, {x, I64({1}, {6})}, 2)), StatusCode::kOutOfRange);
}

TEST(RefShape, TopKNaNIsLargest) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto r = RunOp("TopK", 11, {F32({3}, {1, nan, 2}), I64({1}, {1})}, 2);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<int64_t>((*r)[1]), (std::vector<int64_t>{1}));
}

TEST(RefShape, UniqueStringsUnsorted) {
  auto r = RunOp("Unique", 11, {Str({4}, {"b", "a", "b", "c"})}, 4,
                 [](auto& n) { AttrInt(n, "sorted", 0); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<std::string>((*r)[0]), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(Vals<int64_t>((*r)[1]), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(Vals<int64_t>((*r)[2]), (std::vector<int64_t>{0, 1, 0, 2}));
  EXPECT_EQ(Vals<int64_t>((*r)[3]), (std::vector<int64_t>{2, 1, 1}));
}

TEST(RefShape, CumSumReverseExclusive2D) {
  auto r = RunOp("CumSum", 14, {F32({2, 3}, {1, 2, 3, 4, 5, 6}), I64({}, {1})}, 1, [](auto& n) {
    AttrInt(n, "reverse", 1);
    AttrInt(n, "exclusive", 1);
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Vals<float>((*r)[0]), (std::vector<float>{5, 3, 0, 11, 6, 0}));
  EXPECT_EQ(CodeOf(RunOp("CumSum", 14, {F32({2}, {1, 2}), I64({}, {2})}, 1)),
            StatusCode::kOutOfRange);
}

TEST(RefShape, ReverseSequenceBadLength) {
  EXPECT_EQ(CodeOf(RunOp("ReverseSequence", 10, {F32({2, 2}, {1, 2, 3, 4}), I64({2}, {1, 3})}, 1)),
            StatusCode::kOutOfRange);
}

TEST(RefShape, DepthToSpaceBadChannels) {
  EXPECT_EQ(CodeOf(RunOp("DepthToSpace", 13, {F32({1, 2, 1, 1}, {1, 2})}, 1,
                         [](auto& n) { AttrInt(n, "blocksize", 2); })),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf(RunOp("SpaceToDepth", 13, {F32({1, 1, 3, 2}, std::vector<float>(6))}, 1,
                         [](auto& n) { AttrInt(n, "blocksize", 2); })),
            StatusCode::kInvalidArgument);
}

TEST(RefShape, NonZeroScalarAndBool) {
  auto r = RunOp("NonZero", 13, {Bool({2, 2}, {0, 1, 1, 0})}, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].tensor.shape(), (Shape{2, 2}));
  EXPECT_EQ(Vals<int64_t>((*r)[0]), (std::vector<int64_t>{0, 1, 1, 0}));
}

}  // namespace
}  // namespace tern
