// Unit tests for the reduction family of reference kernels: Reduce*, ArgMax/ArgMin,
// Softmax/LogSoftmax/Hardmax, NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss. They cover
// error paths and behaviour the ONNX conformance data does not (empty sets, opset 18 axes
// inputs, integer wrap-around, NaN handling).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ep/kernel.h"
#include "ep/provider.h"

namespace tern {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

ir::Attribute IntAttr(const std::string& name, int64_t v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kInt;
  a.i = v;
  return a;
}
ir::Attribute IntsAttr(const std::string& name, std::vector<int64_t> v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kInts;
  a.ints = std::move(v);
  return a;
}
ir::Attribute StrAttr(const std::string& name, const std::string& v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kString;
  a.s = v;
  return a;
}

class TestAllocator : public OutputAllocator {
 public:
  TestAllocator(std::vector<Value>* outs, const std::vector<Value>* ins) : outs_(outs), ins_(ins) {}
  Result<Tensor*> Allocate(size_t i, DataType type, const Shape& shape) override {
    TERN_RETURN_IF_ERROR(CheckShape(shape, type, "output"));
    TERN_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(type, shape));
    // Poison float outputs so unwritten elements show up.
    if (type == DataType::kFloat32)
      for (int64_t k = 0; k < t.numel(); ++k) t.data<float>()[k] = -12345.f;
    (*outs_)[i] = Value(t);
    return &(*outs_)[i].tensor;
  }
  Status Alias(size_t o, size_t i, const Shape& shape) override {
    (*outs_)[o] = Value((*ins_)[i].tensor.Reshaped(shape));
    return Status::Ok();
  }
  Status Set(size_t o, Value v) override {
    (*outs_)[o] = std::move(v);
    return Status::Ok();
  }

 private:
  std::vector<Value>* outs_;
  const std::vector<Value>* ins_;
};

struct OpRun {
  Status status;  // creation or compute error
  std::vector<Value> outputs;
  const Tensor& out(size_t i = 0) const { return outputs[i].tensor; }
};

// Runs one node; an input that is an undefined Tensor is treated as omitted.
OpRun RunOp(const std::string& op, int opset, const std::vector<ir::Attribute>& attrs,
            const std::vector<Tensor>& inputs, size_t num_outputs = 1) {
  OpRun r;
  ir::Graph g;
  ir::Node n;
  n.op_type = op;
  n.name = "n";
  n.opset = opset;
  n.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i)
    n.inputs.push_back(inputs[i].defined() ? g.AddValue("in" + std::to_string(i)) : -1);
  for (size_t i = 0; i < num_outputs; ++i)
    n.outputs.push_back(g.AddValue("out" + std::to_string(i)));
  g.nodes.push_back(n);
  KernelFactory f = RefKernelRegistry().Find("", op, opset);
  if (!f) {
    r.status = NotImplemented("no kernel");
    return r;
  }
  KernelInfo info(g, g.nodes[0]);
  auto k = f(info);
  if (!k.ok()) {
    r.status = k.status();
    return r;
  }
  std::vector<Value> in_values;
  for (const Tensor& t : inputs) in_values.push_back(t.defined() ? Value(t) : Value());
  std::vector<const Value*> in_ptrs;
  for (const Value& v : in_values) in_ptrs.push_back(v.is_none() ? nullptr : &v);
  r.outputs.resize(num_outputs);
  TestAllocator alloc(&r.outputs, &in_values);
  KernelContext ctx(g.nodes[0], in_ptrs.data(), in_ptrs.size(), nullptr, 0, &alloc, nullptr);
  r.status = (*k)->Compute(ctx);
  return r;
}

// Like Tensor::FromVector, but never passes a null pointer to memcpy for empty tensors.
template <typename T>
Tensor Make(DataType type, const Shape& s, const std::vector<T>& v) {
  Tensor t = Tensor::Allocate(type, s).value();
  if (!v.empty()) std::memcpy(t.raw(), v.data(), std::min(v.size() * sizeof(T), t.nbytes()));
  return t;
}
Tensor F(const Shape& s, std::vector<float> v) { return Make(DataType::kFloat32, s, v); }
Tensor I64(const Shape& s, std::vector<int64_t> v) { return Make(DataType::kInt64, s, v); }
Tensor I32(const Shape& s, std::vector<int32_t> v) { return Make(DataType::kInt32, s, v); }
std::vector<float> Floats(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.numel());
}

// ---- Reduce* ----

TEST(RefReduce, AxisOutOfRange) {
  auto r = RunOp("ReduceSum", 13, {}, {F({2, 3}, {1, 2, 3, 4, 5, 6}), I64({1}, {2})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange) << r.status.ToString();
  r = RunOp("ReduceMean", 11, {IntsAttr("axes", {-3})}, {F({2, 3}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange) << r.status.ToString();
}

TEST(RefReduce, RepeatedAxes) {
  auto r = RunOp("ReduceMax", 13, {IntsAttr("axes", {1, -1})}, {F({2, 3}, {1, 2, 3, 4, 5, 6})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument) << r.status.ToString();
}

TEST(RefReduce, BadAxesInput) {
  auto r = RunOp("ReduceSum", 13, {}, {F({2, 3}, {1, 2, 3, 4, 5, 6}), F({1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunOp("ReduceSum", 13, {}, {F({2, 3}, {1, 2, 3, 4, 5, 6}), I64({1, 1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

TEST(RefReduce, AxesAttributeRejectedFromOpset18) {
  auto r = RunOp("ReduceMean", 18, {IntsAttr("axes", {0})}, {F({2}, {1, 2})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidModel);
  r = RunOp("ReduceMean", 17, {IntAttr("keepdims", 2)}, {F({2}, {1, 2})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidModel);
}

TEST(RefReduce, Opset18AxesInput) {
  auto r = RunOp("ReduceMean", 18, {IntAttr("keepdims", 0)},
                 {F({2, 3}, {1, 2, 3, 4, 5, 6}), I64({1}, {-1})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.out().shape(), Shape({2}));
  EXPECT_EQ(Floats(r.out()), (std::vector<float>{2, 5}));
}

TEST(RefReduce, NoAxesReducesAllUnlessNoop) {
  const Tensor x = F({2, 2}, {1, 2, 3, 4});
  auto r = RunOp("ReduceSum", 13, {}, {x, Tensor()});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.out().shape(), Shape({1, 1}));
  EXPECT_EQ(Floats(r.out()), std::vector<float>{10});
  r = RunOp("ReduceSum", 13, {IntAttr("noop_with_empty_axes", 1)}, {x, I64({0}, {})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.out().shape(), Shape({2, 2}));
  EXPECT_EQ(Floats(r.out()), (std::vector<float>{1, 2, 3, 4}));
}

TEST(RefReduce, NoopWithEmptyAxesIsElementwise) {
  const Tensor x = F({3}, {-2, 3, 4});
  auto r = RunOp("ReduceSumSquare", 18, {IntAttr("noop_with_empty_axes", 1)}, {x});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.out().shape(), Shape({3}));
  EXPECT_EQ(Floats(r.out()), (std::vector<float>{4, 9, 16}));
  r = RunOp("ReduceL1", 18, {IntAttr("noop_with_empty_axes", 1)}, {x, I64({0}, {})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(Floats(r.out()), (std::vector<float>{2, 3, 4}));
  r = RunOp("ReduceMax", 18, {IntAttr("noop_with_empty_axes", 1), IntAttr("keepdims", 0)}, {x});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(Floats(r.out()), (std::vector<float>{-2, 3, 4}));
}

TEST(RefReduce, EmptySetGivesIdentity) {
  const Tensor x = F({2, 0, 4}, {});
  struct Case {
    const char* op;
    float want;
  } cases[] = {{"ReduceSum", 0},       {"ReduceProd", 1},       {"ReduceMax", -kInf},
               {"ReduceMin", kInf},    {"ReduceL1", 0},         {"ReduceL2", 0},
               {"ReduceSumSquare", 0}, {"ReduceLogSum", -kInf}, {"ReduceLogSumExp", -kInf}};
  for (const Case& c : cases) {
    auto r = RunOp(c.op, 18, {IntAttr("keepdims", 1)}, {x, I64({1}, {1})});
    ASSERT_TRUE(r.status.ok()) << c.op << ": " << r.status.ToString();
    EXPECT_EQ(r.out().shape(), Shape({2, 1, 4})) << c.op;
    for (float v : Floats(r.out())) EXPECT_EQ(v, c.want) << c.op;
  }
  auto r = RunOp("ReduceMean", 18, {}, {x, I64({1}, {1})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(std::isnan(r.out().data<float>()[0]));
  // Integer max/min of an empty set: the type's extreme values.
  r = RunOp("ReduceMax", 18, {IntAttr("keepdims", 0)}, {I32({0, 2}, {}), I64({1}, {0})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.out().data<int32_t>()[1], std::numeric_limits<int32_t>::lowest());
}

TEST(RefReduce, IntegerSumWrapsAndL1OfMinimum) {
  auto r = RunOp("ReduceSum", 13, {IntAttr("keepdims", 0)},
                 {I32({2}, {std::numeric_limits<int32_t>::max(), 1}), Tensor()});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.out().data<int32_t>()[0], std::numeric_limits<int32_t>::lowest());
  r = RunOp("ReduceProd", 13, {IntAttr("keepdims", 0)}, {I64({3}, {-2, 3, 4})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.out().data<int64_t>()[0], -24);
  r = RunOp("ReduceL1", 13, {IntAttr("keepdims", 0)}, {I64({2}, {-5, 3})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.out().data<int64_t>()[0], 8);
}

TEST(RefReduce, LogSumExpIsStable) {
  auto r = RunOp("ReduceLogSumExp", 13, {IntAttr("keepdims", 0)}, {F({2}, {1000, 1000})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_NEAR(r.out().data<float>()[0], 1000 + std::log(2.0), 1e-3);
}

TEST(RefReduce, MaxPropagatesNaNAndSupportsBool) {
  auto r = RunOp("ReduceMax", 13, {IntAttr("keepdims", 0)}, {F({3}, {1, NAN, 2})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(std::isnan(r.out().data<float>()[0]));
  Tensor b = Tensor::FromVector(DataType::kBool, Shape{2, 2}, std::vector<uint8_t>{0, 1, 0, 0});
  r = RunOp("ReduceMax", 18, {IntAttr("keepdims", 0)}, {b, I64({1}, {1})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.out().data<bool>()[0], true);
  EXPECT_EQ(r.out().data<bool>()[1], false);
}

TEST(RefReduce, StringRejected) {
  Tensor s = Tensor::FromVector(DataType::kString, Shape{1}, std::vector<std::string>{"a"});
  auto r = RunOp("ReduceSum", 13, {}, {s, Tensor()});
  EXPECT_EQ(r.status.code(), StatusCode::kNotImplemented);
}

// ---- ArgMax / ArgMin ----

TEST(RefArg, Errors) {
  auto r = RunOp("ArgMax", 13, {IntAttr("axis", 2)}, {F({2, 2}, {1, 2, 3, 4})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange);
  r = RunOp("ArgMin", 13, {IntAttr("axis", 1)}, {F({2, 0}, {})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunOp("ArgMin", 13, {}, {F({}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunOp("ArgMax", 13, {IntAttr("select_last_index", 3)}, {F({2}, {1, 2})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidModel);
}

TEST(RefArg, EmptyOutputIsFine) {
  auto r = RunOp("ArgMax", 13, {IntAttr("axis", 1)}, {F({0, 3}, {})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.out().shape(), Shape({0, 1}));
}

TEST(RefArg, TiesAndNaN) {
  const Tensor x = F({4}, {1, 3, 3, 0});
  auto r = RunOp("ArgMax", 13, {IntAttr("keepdims", 0)}, {x});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.out().data<int64_t>()[0], 1);
  r = RunOp("ArgMax", 13, {IntAttr("keepdims", 0), IntAttr("select_last_index", 1)}, {x});
  EXPECT_EQ(r.out().data<int64_t>()[0], 2);
  r = RunOp("ArgMin", 13, {IntAttr("keepdims", 0)}, {F({3}, {1, NAN, -1})});
  EXPECT_EQ(r.out().data<int64_t>()[0], 1);
  r = RunOp("ArgMin", 13, {IntAttr("keepdims", 0)}, {I64({3}, {5, -7, -7})});
  EXPECT_EQ(r.out().data<int64_t>()[0], 1);
}

// ---- Softmax family ----

TEST(RefSoftmax, AxisErrorsAndTypes) {
  auto r = RunOp("Softmax", 13, {IntAttr("axis", 2)}, {F({2, 2}, {1, 2, 3, 4})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange);
  r = RunOp("LogSoftmax", 13, {}, {F({}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange);
  r = RunOp("Hardmax", 13, {}, {I64({2}, {1, 2})});
  EXPECT_EQ(r.status.code(), StatusCode::kNotImplemented);
}

TEST(RefSoftmax, Opset11CoercesTo2D) {
  // [1, 2, 2] at axis 1: one row of 4 elements.
  auto r = RunOp("Softmax", 11, {}, {F({1, 2, 2}, {0, 0, 0, 0})});
  ASSERT_TRUE(r.status.ok());
  for (float v : Floats(r.out())) EXPECT_FLOAT_EQ(v, 0.25f);
  // Opset 13 at axis 1: two slices of 2 (strided).
  r = RunOp("Softmax", 13, {IntAttr("axis", 1)}, {F({1, 2, 2}, {0, 0, 0, 0})});
  ASSERT_TRUE(r.status.ok());
  for (float v : Floats(r.out())) EXPECT_FLOAT_EQ(v, 0.5f);
}

TEST(RefSoftmax, LargeValuesAndHardmaxFirstMax) {
  auto r = RunOp("LogSoftmax", 13, {}, {F({2}, {10000, 10000})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_NEAR(r.out().data<float>()[0], -std::log(2.0), 1e-6);
  r = RunOp("Hardmax", 13, {IntAttr("axis", 0)}, {F({3, 1}, {5, 7, 7})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(Floats(r.out()), (std::vector<float>{0, 1, 0}));
}

// ---- Losses ----

TEST(RefLoss, Errors) {
  const Tensor x = F({2, 3}, {-1, -2, -3, -4, -5, -6});
  auto r = RunOp("NegativeLogLikelihoodLoss", 13, {}, {x, I64({2}, {0, 3})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange) << r.status.ToString();
  r = RunOp("NegativeLogLikelihoodLoss", 13, {}, {x, I64({2}, {0, -1})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange);
  r = RunOp("NegativeLogLikelihoodLoss", 13, {}, {x, I64({3}, {0, 1, 2})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunOp("NegativeLogLikelihoodLoss", 13, {}, {x, I64({2}, {0, 1}), F({2}, {1, 1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunOp("NegativeLogLikelihoodLoss", 13, {}, {x, F({2}, {0, 1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunOp("SoftmaxCrossEntropyLoss", 13, {StrAttr("reduction", "avg")}, {x, I64({2}, {0, 1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidModel);
  r = RunOp("SoftmaxCrossEntropyLoss", 13, {}, {F({3}, {1, 2, 3}), I64({}, {0})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

TEST(RefLoss, NegativeIgnoreIndexAndInt32Target) {
  const Tensor x = F({2, 3}, {-1, -2, -3, -4, -5, -6});
  auto r =
      RunOp("NegativeLogLikelihoodLoss", 13,
            {StrAttr("reduction", "none"), IntAttr("ignore_index", -5)}, {x, I32({2}, {2, -5})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Floats(r.out()), (std::vector<float>{3, 0}));
  r = RunOp("NegativeLogLikelihoodLoss", 13, {IntAttr("ignore_index", -5)},
            {x, I64({2}, {2, -5}), F({3}, {1, 1, 0.5f})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_FLOAT_EQ(r.out().data<float>()[0], 3.0f);  // 1.5 / 0.5
  // Every position ignored: the mean is 0/0.
  r = RunOp("NegativeLogLikelihoodLoss", 13, {IntAttr("ignore_index", 1)}, {x, I64({2}, {1, 1})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(std::isnan(r.out().data<float>()[0]));
}

TEST(RefLoss, SoftmaxCrossEntropyLogProb) {
  const Tensor x = F({1, 2, 2}, {0, 0, 0, 0});  // [N=1, C=2, d=2]
  auto r = RunOp("SoftmaxCrossEntropyLoss", 13, {StrAttr("reduction", "sum")},
                 {x, I64({1, 2}, {0, 1})}, 2);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.out(0).shape(), Shape{});
  EXPECT_NEAR(r.out(0).data<float>()[0], 2 * std::log(2.0), 1e-6);
  EXPECT_EQ(r.out(1).shape(), Shape({1, 2, 2}));
  for (float v : Floats(r.out(1))) EXPECT_NEAR(v, -std::log(2.0), 1e-6);
}

}  // namespace
}  // namespace tern
