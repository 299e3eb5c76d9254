// Reference elementwise kernels: error paths and behaviour the ONNX conformance data does not
// cover. Kernels are created from the ref registry for a one-node graph and run directly.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ep/kernel.h"
#include "ep/provider.h"
#include "ep/ref/ref_common.h"

namespace tern {
namespace {

/// Keeps the outputs a kernel makes.
class TestAllocator : public OutputAllocator {
 public:
  TestAllocator(std::vector<Value>* outputs, const std::vector<const Value*>& inputs)
      : outputs_(outputs), inputs_(inputs) {}
  Result<Tensor*> Allocate(size_t output, DataType type, const Shape& shape) override {
    TERN_RETURN_IF_ERROR(CheckShape(shape, type, "output"));
    TERN_ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(type, shape));
    (*outputs_)[output] = Value(t);
    return &(*outputs_)[output].tensor;
  }
  Status Alias(size_t output, size_t input, const Shape& shape) override {
    (*outputs_)[output] = Value(inputs_[input]->tensor.Reshaped(shape));
    return Status::Ok();
  }
  Status Set(size_t output, Value value) override {
    (*outputs_)[output] = std::move(value);
    return Status::Ok();
  }

 private:
  std::vector<Value>* outputs_;
  std::vector<const Value*> inputs_;
};

/// One node of `op` with `num_inputs` inputs (an empty slot in `omitted` leaves one out).
struct OneNode {
  ir::Graph graph;
  ir::Node node;
  OneNode(const std::string& op, size_t num_inputs, int opset = 18,
          std::vector<bool> omitted = {}) {
    node.op_type = op;
    node.opset = opset;
    for (size_t i = 0; i < num_inputs; ++i) {
      bool skip = i < omitted.size() && omitted[i];
      node.inputs.push_back(skip ? -1 : graph.AddValue("in" + std::to_string(i)));
    }
    node.outputs.push_back(graph.AddValue("out"));
  }
  OneNode& Int(const char* name, int64_t v) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::kInt;
    a.i = v;
    node.attrs.push_back(a);
    return *this;
  }
  OneNode& Float(const char* name, float v) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::kFloat;
    a.f = v;
    node.attrs.push_back(a);
    return *this;
  }
  OneNode& Str(const char* name, const std::string& v) {
    ir::Attribute a;
    a.name = name;
    a.type = ir::AttrType::kString;
    a.s = v;
    node.attrs.push_back(a);
    return *this;
  }

  Result<std::unique_ptr<OpKernel>> Make() const {
    KernelFactory f = RefKernelRegistry().Find("", node.op_type, node.opset);
    if (!f) return NotImplemented("no kernel for " + node.op_type);
    KernelInfo info(graph, node);
    return f(info);
  }

  /// Runs the node on `inputs` (nullptr for an omitted input); the output goes to *out.
  Status Run(const std::vector<const Value*>& inputs, Value* out) const {
    TERN_ASSIGN_OR_RETURN(auto kernel, Make());
    std::vector<Value> outputs(1);
    TestAllocator alloc(&outputs, inputs);
    KernelContext ctx(node, inputs.data(), inputs.size(), nullptr, 0, &alloc, nullptr);
    TERN_RETURN_IF_ERROR(kernel->Compute(ctx));
    *out = outputs[0];
    return Status::Ok();
  }
};

template <typename T>
Value Vec(DataType type, const std::vector<T>& v, Shape shape = {}) {
  if (shape.empty() && v.size() != 1) shape = Shape{static_cast<int64_t>(v.size())};
  return Value(Tensor::FromVector(type, shape, v));
}

Value Bools(const std::vector<uint8_t>& v) { return Vec<uint8_t>(DataType::kBool, v); }

template <typename T>
std::vector<T> Data(const Value& v) {
  const T* p = v.tensor.data<T>();
  return std::vector<T>(p, p + v.tensor.numel());
}

TEST(RefElem, BinaryShapeMismatchIsAnError) {
  Value a = Vec<float>(DataType::kFloat32, {1, 2, 3});
  Value b = Vec<float>(DataType::kFloat32, {1, 2});
  for (const char* op : {"Equal", "Less", "Pow", "Max", "Sum", "PRelu"}) {
    Value out;
    Status st = OneNode(op, 2).Run({&a, &b}, &out);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << op << ": " << st.ToString();
  }
}

TEST(RefElem, MissingInputIsAnError) {
  Value a = Vec<float>(DataType::kFloat32, {1, 2});
  Value out;
  EXPECT_EQ(OneNode("Less", 2, 18, {false, true}).Run({&a, nullptr}, &out).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OneNode("Where", 3).Run({&a, &a, nullptr}, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OneNode("Abs", 1).Run({nullptr}, &out).code(), StatusCode::kInvalidArgument);
}

TEST(RefElem, TypeMismatchAndUnsupportedTypes) {
  Value f = Vec<float>(DataType::kFloat32, {1, 2});
  Value i = Vec<int32_t>(DataType::kInt32, {1, 2});
  Value s = Vec<std::string>(DataType::kString, {"a", "b"});
  Value out;
  EXPECT_EQ(OneNode("Greater", 2).Run({&f, &i}, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OneNode("Sqrt", 1).Run({&i}, &out).code(), StatusCode::kNotImplemented);
  EXPECT_EQ(OneNode("And", 2).Run({&f, &f}, &out).code(), StatusCode::kNotImplemented);
  EXPECT_EQ(OneNode("Less", 2).Run({&s, &s}, &out).code(), StatusCode::kNotImplemented);
  EXPECT_EQ(OneNode("Where", 3).Run({&f, &f, &f}, &out).code(), StatusCode::kInvalidArgument);
  // Equal on strings is allowed.
  Value t = Vec<std::string>(DataType::kString, {"a", "c"});
  ASSERT_TRUE(OneNode("Equal", 2).Run({&s, &t}, &out).ok());
  EXPECT_EQ(Data<bool>(out), (std::vector<bool>{true, false}));
}

TEST(RefElem, BadAttributes) {
  EXPECT_EQ(OneNode("BitShift", 2).Str("direction", "UP").Make().status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OneNode("BitShift", 2).Make().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OneNode("Mod", 2).Int("fmod", 2).Make().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OneNode("Cast", 1).Int("to", 99).Make().status().code(), StatusCode::kNotImplemented);
  EXPECT_EQ(OneNode("Cast", 1).Int("to", 14).Make().status().code(),  // complex64
            StatusCode::kNotImplemented);
  EXPECT_EQ(OneNode("Cast", 1).Make().status().code(), StatusCode::kInvalidModel);
  EXPECT_EQ(OneNode("Celu", 1).Float("alpha", 0).Make().status().code(),
            StatusCode::kInvalidArgument);
}

TEST(RefElem, IntegerDivisionByZero) {
  Value a = Vec<int32_t>(DataType::kInt32, {7, -7});
  Value z = Vec<int32_t>(DataType::kInt32, {0});
  Value out;
  EXPECT_EQ(OneNode("Mod", 2).Run({&a, &z}, &out).code(), StatusCode::kInvalidArgument);
  Value neg = Vec<int32_t>(DataType::kInt32, {-1});
  EXPECT_EQ(OneNode("Pow", 2).Run({&z, &neg}, &out).code(), StatusCode::kInvalidArgument);
}

TEST(RefElem, ModSignsAndFloatNeedsFmod) {
  Value a = Vec<int32_t>(DataType::kInt32, {7, -7, 7, -7, INT32_MIN});
  Value b = Vec<int32_t>(DataType::kInt32, {3, 3, -3, -3, -1});
  Value out;
  ASSERT_TRUE(OneNode("Mod", 2).Run({&a, &b}, &out).ok());
  EXPECT_EQ(Data<int32_t>(out), (std::vector<int32_t>{1, 2, -2, -1, 0}));
  ASSERT_TRUE(OneNode("Mod", 2).Int("fmod", 1).Run({&a, &b}, &out).ok());
  EXPECT_EQ(Data<int32_t>(out), (std::vector<int32_t>{1, -1, 1, -1, 0}));
  Value f = Vec<float>(DataType::kFloat32, {1.5f});
  EXPECT_EQ(OneNode("Mod", 2).Run({&f, &f}, &out).code(), StatusCode::kInvalidArgument);
}

TEST(RefElem, IntegerEdgeCases) {
  Value a = Vec<int8_t>(DataType::kInt8, {-128, -5, 0, 5});
  Value out;
  ASSERT_TRUE(OneNode("Abs", 1).Run({&a}, &out).ok());
  EXPECT_EQ(Data<int8_t>(out), (std::vector<int8_t>{-128, 5, 0, 5}));  // wraps
  ASSERT_TRUE(OneNode("Neg", 1).Run({&a}, &out).ok());
  EXPECT_EQ(Data<int8_t>(out), (std::vector<int8_t>{-128, 5, 0, -5}));
  Value u = Vec<uint8_t>(DataType::kUInt8, {1, 255});
  Value s = Vec<uint8_t>(DataType::kUInt8, {8, 9});
  ASSERT_TRUE(OneNode("BitShift", 2).Str("direction", "LEFT").Run({&u, &s}, &out).ok());
  EXPECT_EQ(Data<uint8_t>(out), (std::vector<uint8_t>{0, 0}));  // shift >= width gives 0
  Value base = Vec<int64_t>(DataType::kInt64, {2, -1, 3, 1});
  Value e = Vec<int64_t>(DataType::kInt64, {10, -3, -2, -7});
  ASSERT_TRUE(OneNode("Pow", 2).Run({&base, &e}, &out).ok());
  EXPECT_EQ(Data<int64_t>(out), (std::vector<int64_t>{1024, -1, 0, 1}));
}

TEST(RefElem, ClipBoundsAndNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  Value x = Vec<float>(DataType::kFloat32, {-2, 0.5f, 3, nan, inf});
  Value lo = Vec<float>(DataType::kFloat32, {0});
  Value hi = Vec<float>(DataType::kFloat32, {1});
  Value out;
  ASSERT_TRUE(OneNode("Clip", 3).Run({&x, &lo, &hi}, &out).ok());
  auto r = Data<float>(out);
  EXPECT_EQ(r[0], 0);
  EXPECT_EQ(r[1], 0.5f);
  EXPECT_EQ(r[2], 1);
  EXPECT_TRUE(std::isnan(r[3]));
  EXPECT_EQ(r[4], 1);
  // Omitted min; inf is kept when max is absent too.
  ASSERT_TRUE(OneNode("Clip", 3, 13, {false, true, true}).Run({&x, nullptr, nullptr}, &out).ok());
  EXPECT_EQ(Data<float>(out)[4], inf);
  // Bounds must be scalars of the input's type.
  Value two = Vec<float>(DataType::kFloat32, {0, 1});
  EXPECT_EQ(OneNode("Clip", 2).Run({&x, &two}, &out).code(), StatusCode::kInvalidArgument);
  Value ilo = Vec<int32_t>(DataType::kInt32, {0});
  EXPECT_EQ(OneNode("Clip", 2).Run({&x, &ilo}, &out).code(), StatusCode::kInvalidArgument);
  // min > max gives max everywhere.
  ASSERT_TRUE(OneNode("Clip", 3).Run({&x, &hi, &lo}, &out).ok());
  EXPECT_EQ(Data<float>(out)[0], 0);
  EXPECT_EQ(Data<float>(out)[2], 0);
}

TEST(RefElem, MaxMinPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Value a = Vec<float>(DataType::kFloat32, {nan, 1});
  Value b = Vec<float>(DataType::kFloat32, {2, nan});
  Value out;
  ASSERT_TRUE(OneNode("Max", 2).Run({&a, &b}, &out).ok());
  EXPECT_TRUE(std::isnan(Data<float>(out)[0]));
  EXPECT_TRUE(std::isnan(Data<float>(out)[1]));
  ASSERT_TRUE(OneNode("Min", 1).Run({&a}, &out).ok());  // one input is a copy
  EXPECT_EQ(Data<float>(out)[1], 1);
}

TEST(RefElem, RoundHalfToEvenAndSign) {
  Value x = Vec<float>(DataType::kFloat32, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f});
  Value out;
  ASSERT_TRUE(OneNode("Round", 1).Run({&x}, &out).ok());
  EXPECT_EQ(Data<float>(out), (std::vector<float>{0, 2, 2, -0.0f, -2, 2}));
  Value i = Vec<int32_t>(DataType::kInt32, {-7, 0, 9});
  ASSERT_TRUE(OneNode("Sign", 1).Run({&i}, &out).ok());
  EXPECT_EQ(Data<int32_t>(out), (std::vector<int32_t>{-1, 0, 1}));
}

TEST(RefElem, CastEdgeCases) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Value f = Vec<float>(DataType::kFloat32, {nan, 1e10f, -1e10f, -2.7f, 0.1f});
  Value out;
  ASSERT_TRUE(OneNode("Cast", 1).Int("to", 6).Run({&f}, &out).ok());  // int32
  EXPECT_EQ(Data<int32_t>(out), (std::vector<int32_t>{0, INT32_MAX, INT32_MIN, -2, 0}));
  ASSERT_TRUE(OneNode("Cast", 1).Int("to", 8).Run({&f}, &out).ok());  // string
  EXPECT_EQ(Data<std::string>(out),
            (std::vector<std::string>{"NaN", "1e+10", "-1e+10", "-2.7", "0.1"}));
  Value s = Vec<std::string>(DataType::kString, {"+INF", "-inf", "1E3", " 42 ", "nan"});
  ASSERT_TRUE(OneNode("Cast", 1).Int("to", 1).Run({&s}, &out).ok());
  auto r = Data<float>(out);
  EXPECT_EQ(r[0], std::numeric_limits<float>::infinity());
  EXPECT_EQ(r[1], -std::numeric_limits<float>::infinity());
  EXPECT_EQ(r[2], 1000.0f);
  EXPECT_EQ(r[3], 42.0f);
  EXPECT_TRUE(std::isnan(r[4]));
  Value bad = Vec<std::string>(DataType::kString, {"12abc"});
  EXPECT_EQ(OneNode("Cast", 1).Int("to", 7).Run({&bad}, &out).code(), StatusCode::kInvalidArgument);
  Value big = Vec<std::string>(DataType::kString, {"9007199254740993", "100.7"});
  ASSERT_TRUE(OneNode("Cast", 1).Int("to", 7).Run({&big}, &out).ok());  // int64, exact
  EXPECT_EQ(Data<int64_t>(out), (std::vector<int64_t>{9007199254740993LL, 100}));
  // double -> float16 without double rounding: 1 + 2^-11 + 2^-40 rounds up to 1 + 2^-10.
  Value d = Vec<double>(DataType::kFloat64, {1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)});
  ASSERT_TRUE(OneNode("Cast", 1).Int("to", 10).Run({&d}, &out).ok());
  EXPECT_EQ(out.tensor.data<Float16>()[0].bits, 0x3c01);
  // float16 prints its own shortest text.
  Value h(Tensor::FromVector(DataType::kFloat16, Shape{1}, std::vector<Float16>{Float16(0.1f)}));
  ASSERT_TRUE(OneNode("Cast", 1).Int("to", 8).Run({&h}, &out).ok());
  EXPECT_EQ(Data<std::string>(out)[0], "0.1");
}

TEST(RefElem, CastLikeTakesTypeOfSecondInput) {
  Value f = Vec<float>(DataType::kFloat32, {1.9f, -1.9f});
  Value like = Vec<int8_t>(DataType::kInt8, {0});
  Value out;
  ASSERT_TRUE(OneNode("CastLike", 2).Run({&f, &like}, &out).ok());
  EXPECT_EQ(out.tensor.dtype(), DataType::kInt8);
  EXPECT_EQ(Data<int8_t>(out), (std::vector<int8_t>{1, -1}));
}

TEST(RefElem, IsInfDetectFlags) {
  const float inf = std::numeric_limits<float>::infinity();
  Value x = Vec<float>(DataType::kFloat32, {inf, -inf, 1});
  Value out;
  ASSERT_TRUE(OneNode("IsInf", 1).Int("detect_positive", 0).Run({&x}, &out).ok());
  EXPECT_EQ(Data<bool>(out), (std::vector<bool>{false, true, false}));
}

TEST(RefElem, PReluSlopeMustBroadcastToX) {
  Value x = Vec<float>(DataType::kFloat32, {-1, 2, -3, 4}, Shape{2, 2});
  Value slope = Vec<float>(DataType::kFloat32, {0.5f, 2}, Shape{2, 1, 1});
  Value out;
  EXPECT_EQ(OneNode("PRelu", 2).Run({&x, &slope}, &out).code(), StatusCode::kInvalidArgument);
  Value per_col = Vec<float>(DataType::kFloat32, {0.5f, 2});
  ASSERT_TRUE(OneNode("PRelu", 2).Run({&x, &per_col}, &out).ok());
  EXPECT_EQ(Data<float>(out), (std::vector<float>{-0.5f, 2, -1.5f, 4}));
  // Opset 6: a 1-D slope applies along axis 1 (here the rows of a [1,2,2] X).
  Value x3 = Vec<float>(DataType::kFloat32, {-1, 2, -3, 4}, Shape{1, 2, 2});
  ASSERT_TRUE(OneNode("PRelu", 2, 6).Run({&x3, &per_col}, &out).ok());
  EXPECT_EQ(Data<float>(out), (std::vector<float>{-0.5f, 2, -6, 4}));
}

TEST(RefElem, WhereBroadcastsStrings) {
  Value c = Bools({1, 0});
  Value x = Vec<std::string>(DataType::kString, {"x"});
  Value y = Vec<std::string>(DataType::kString, {"y0", "y1"}, Shape{2, 1});
  Value out;
  ASSERT_TRUE(OneNode("Where", 3).Run({&c, &x, &y}, &out).ok());
  EXPECT_EQ(out.tensor.shape(), (Shape{2, 2}));
  EXPECT_EQ(Data<std::string>(out), (std::vector<std::string>{"x", "y0", "x", "y1"}));
}

}  // namespace
}  // namespace tern
