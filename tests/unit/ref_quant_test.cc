// Unit tests for the reference kernels of the quantization, signal and misc family: error paths
// and behaviour the ONNX conformance data does not cover.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <string>
#include <vector>

#include "tern/session.h"

namespace tern {
namespace {

/// Builds a one-node model; inputs and outputs are declared with an element type and no shape.
class OneNode {
 public:
  OneNode(const std::string& op, int opset, const std::string& domain = "") {
    model_.set_ir_version(8);
    auto* imp = model_.add_opset_import();
    imp->set_domain("");
    imp->set_version(domain.empty() ? opset : 17);
    if (!domain.empty()) {
      auto* d = model_.add_opset_import();
      d->set_domain(domain);
      d->set_version(opset);
    }
    node_ = model_.mutable_graph()->add_node();
    node_->set_op_type(op);
    node_->set_domain(domain);
    node_->set_name("n");
    model_.mutable_graph()->set_name("g");
  }
  OneNode& In(const std::string& name, DataType t) {
    node_->add_input(name);
    if (name.empty()) return *this;
    auto* v = model_.mutable_graph()->add_input();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int>(t));
    return *this;
  }
  OneNode& Out(const std::string& name, DataType t) {
    node_->add_output(name);
    auto* v = model_.mutable_graph()->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int>(t));
    return *this;
  }
  onnx::AttributeProto* Attr(const std::string& name, onnx::AttributeProto::AttributeType type) {
    auto* a = node_->add_attribute();
    a->set_name(name);
    a->set_type(type);
    return a;
  }
  OneNode& Int(const std::string& name, int64_t v) {
    Attr(name, onnx::AttributeProto::INT)->set_i(v);
    return *this;
  }
  OneNode& Float(const std::string& name, float v) {
    Attr(name, onnx::AttributeProto::FLOAT)->set_f(v);
    return *this;
  }
  OneNode& Str(const std::string& name, const std::string& v) {
    Attr(name, onnx::AttributeProto::STRING)->set_s(v);
    return *this;
  }
  OneNode& Ints(const std::string& name, const std::vector<int64_t>& v) {
    auto* a = Attr(name, onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
    return *this;
  }
  OneNode& Floats(const std::string& name, const std::vector<float>& v) {
    auto* a = Attr(name, onnx::AttributeProto::FLOATS);
    for (float x : v) a->add_floats(x);
    return *this;
  }
  OneNode& Strs(const std::string& name, const std::vector<std::string>& v) {
    auto* a = Attr(name, onnx::AttributeProto::STRINGS);
    for (const auto& x : v) a->add_strings(x);
    return *this;
  }
  Result<std::unique_ptr<Session>> Load() const {
    std::string bytes = model_.SerializeAsString();
    SessionOptions o;
    o.threads = 1;
    return Session::LoadFromMemory(bytes.data(), bytes.size(), o);
  }
  /// Loads and runs; returns the run status (load failures included).
  Status Run(const std::vector<Value>& inputs, std::vector<Value>* outputs) const {
    auto s = Load();
    if (!s.ok()) return s.status();
    return (*s)->Run(inputs, outputs);
  }

 private:
  onnx::ModelProto model_;
  onnx::NodeProto* node_;
};

template <typename T>
Tensor T1(DataType t, const std::vector<T>& v) {
  return Tensor::FromVector(t, Shape{static_cast<int64_t>(v.size())}, v);
}
template <typename T>
Tensor TS(DataType t, const std::vector<int64_t>& shape, const std::vector<T>& v) {
  return Tensor::FromVector(t, Shape(shape), v);
}
template <typename T>
Tensor Scalar(DataType t, T v) {
  return Tensor::FromVector(t, Shape{}, std::vector<T>{v});
}
template <typename T>
std::vector<T> Vec(const Value& v) {
  const Tensor& t = v.tensor;
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

constexpr auto kF = DataType::kFloat32;
constexpr auto kU8 = DataType::kUInt8;
constexpr auto kI8 = DataType::kInt8;
constexpr auto kI32 = DataType::kInt32;
constexpr auto kI64 = DataType::kInt64;
constexpr auto kStr = DataType::kString;

// ---- quantization ----

TEST(RefQuant, QuantizeRoundsHalfToEvenAndSaturates) {
  OneNode m("QuantizeLinear", 13);
  m.In("x", kF).In("s", kF).In("z", kI8).Out("y", kI8);
  std::vector<Value> out;
  ASSERT_TRUE(m.Run({T1<float>(kF, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 300.f, -300.f}),
                     Scalar<float>(kF, 1.f), Scalar<int8_t>(kI8, 0)},
                    &out)
                  .ok());
  EXPECT_EQ(Vec<int8_t>(out[0]), (std::vector<int8_t>{0, 2, 2, 0, -2, 127, -128}));
}

TEST(RefQuant, QuantizeDefaultsToUint8) {
  OneNode m("QuantizeLinear", 13);
  m.In("x", kF).In("s", kF).Out("y", kU8);
  std::vector<Value> out;
  ASSERT_TRUE(m.Run({T1<float>(kF, {-1.f, 3.f, 1000.f}), Scalar<float>(kF, 2.f)}, &out).ok());
  EXPECT_EQ(out[0].tensor.dtype(), kU8);
  EXPECT_EQ(Vec<uint8_t>(out[0]), (std::vector<uint8_t>{0, 2, 255}));
}

TEST(RefQuant, QuantizePerAxisErrors) {
  OneNode m("QuantizeLinear", 13);
  m.In("x", kF).In("s", kF).In("z", kU8).Out("y", kU8).Int("axis", 1);
  std::vector<Value> out;
  Tensor x = TS<float>(kF, {2, 2}, {1, 2, 3, 4});
  Status st = m.Run({x, T1<float>(kF, {1, 1, 1}), T1<uint8_t>(kU8, {0, 0, 0})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  st = m.Run({x, T1<float>(kF, {1, 1}), T1<uint8_t>(kU8, {0})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);  // zero point shape differs
  OneNode bad("QuantizeLinear", 13);
  bad.In("x", kF).In("s", kF).In("z", kU8).Out("y", kU8).Int("axis", 5);
  st = bad.Run({x, T1<float>(kF, {1, 1}), T1<uint8_t>(kU8, {0, 0})}, &out);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
}

TEST(RefQuant, DequantizeInt32AndTypeMismatch) {
  OneNode m("DequantizeLinear", 13);
  m.In("x", kI32).In("s", kF).Out("y", kF);
  std::vector<Value> out;
  ASSERT_TRUE(m.Run({T1<int32_t>(kI32, {-4, 0, 6}), Scalar<float>(kF, 0.5f)}, &out).ok());
  EXPECT_EQ(Vec<float>(out[0]), (std::vector<float>{-2.f, 0.f, 3.f}));
  OneNode bad("DequantizeLinear", 13);
  bad.In("x", kU8).In("s", kF).In("z", kI8).Out("y", kF);
  EXPECT_FALSE(
      bad.Run({T1<uint8_t>(kU8, {1}), Scalar<float>(kF, 1.f), Scalar<int8_t>(kI8, 0)}, &out).ok());
}

TEST(RefQuant, DynamicQuantizeAllZeros) {
  OneNode m("DynamicQuantizeLinear", 11);
  m.In("x", kF).Out("y", kU8).Out("s", kF).Out("z", kU8);
  std::vector<Value> out;
  ASSERT_TRUE(m.Run({T1<float>(kF, {0.f, 0.f})}, &out).ok());
  EXPECT_EQ(Vec<uint8_t>(out[0]), (std::vector<uint8_t>{0, 0}));
  EXPECT_EQ(Vec<float>(out[1])[0], 0.f);
}

TEST(RefQuant, MatMulIntegerPerRowAndColumnZeroPoints) {
  OneNode m("MatMulInteger", 10);
  m.In("a", kU8).In("b", kI8).In("az", kU8).In("bz", kI8).Out("y", kI32);
  std::vector<Value> out;
  // A = [[3,4],[5,6]] - [1,2] per row; B = [[1,2],[3,4]] - [1,-1] per column.
  ASSERT_TRUE(m.Run({TS<uint8_t>(kU8, {2, 2}, {3, 4, 5, 6}), TS<int8_t>(kI8, {2, 2}, {1, 2, 3, 4}),
                     T1<uint8_t>(kU8, {1, 2}), T1<int8_t>(kI8, {1, -1})},
                    &out)
                  .ok());
  // A' = [[2,3],[3,4]], B' = [[0,3],[2,5]]
  EXPECT_EQ(Vec<int32_t>(out[0]), (std::vector<int32_t>{6, 21, 8, 29}));
  Status st = m.Run({TS<uint8_t>(kU8, {2, 2}, {3, 4, 5, 6}), TS<int8_t>(kI8, {3, 1}, {1, 2, 3}),
                     T1<uint8_t>(kU8, {1, 2}), T1<int8_t>(kI8, {1})},
                    &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);  // K mismatch
  st = m.Run({TS<uint8_t>(kU8, {2, 2}, {3, 4, 5, 6}), TS<int8_t>(kI8, {2, 2}, {1, 2, 3, 4}),
              T1<uint8_t>(kU8, {1, 2, 3}), T1<int8_t>(kI8, {1})},
             &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);  // zero point length
}

TEST(RefQuant, MatMulIntegerVectorBroadcast) {
  OneNode m("MatMulInteger", 10);
  m.In("a", kU8).In("b", kU8).Out("y", kI32);
  std::vector<Value> out;
  ASSERT_TRUE(
      m.Run({T1<uint8_t>(kU8, {1, 2}), TS<uint8_t>(kU8, {2, 2, 1}, {1, 1, 2, 3})}, &out).ok());
  EXPECT_EQ(out[0].tensor.shape(), (Shape{2, 1}));
  EXPECT_EQ(Vec<int32_t>(out[0]), (std::vector<int32_t>{3, 8}));
}

TEST(RefQuant, ConvIntegerGroupsAndPerChannelZeroPoint) {
  OneNode m("ConvInteger", 10);
  m.In("x", kU8).In("w", kU8).In("xz", kU8).In("wz", kU8).Out("y", kI32).Int("group", 2);
  std::vector<Value> out;
  // x: 1x2x1x2, w: 2x1x1x1, zero points x 1, w [1, 2].
  ASSERT_TRUE(
      m.Run({TS<uint8_t>(kU8, {1, 2, 1, 2}, {2, 3, 4, 5}), TS<uint8_t>(kU8, {2, 1, 1, 1}, {3, 5}),
             Scalar<uint8_t>(kU8, 1), T1<uint8_t>(kU8, {1, 2})},
            &out)
          .ok());
  EXPECT_EQ(Vec<int32_t>(out[0]), (std::vector<int32_t>{2, 4, 9, 12}));
  Status st = m.Run(
      {TS<uint8_t>(kU8, {1, 3, 1, 2}, {1, 2, 3, 4, 5, 6}), TS<uint8_t>(kU8, {2, 1, 1, 1}, {3, 5}),
       Scalar<uint8_t>(kU8, 1), T1<uint8_t>(kU8, {1, 2})},
      &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);  // channels do not match group
}

TEST(RefQuant, ConvIntegerSameUpperPadsWithZeroPoint) {
  OneNode m("ConvInteger", 10);
  m.In("x", kU8).In("w", kU8).In("xz", kU8).Out("y", kI32).Str("auto_pad", "SAME_UPPER");
  std::vector<Value> out;
  ASSERT_TRUE(m.Run({TS<uint8_t>(kU8, {1, 1, 1, 3}, {11, 12, 13}),
                     TS<uint8_t>(kU8, {1, 1, 1, 2}, {1, 1}), Scalar<uint8_t>(kU8, 10)},
                    &out)
                  .ok());
  EXPECT_EQ(out[0].tensor.shape(), (Shape{1, 1, 1, 3}));
  EXPECT_EQ(Vec<int32_t>(out[0]), (std::vector<int32_t>{3, 5, 3}));
}

TEST(RefQuant, ConvIntegerBadAttributes) {
  OneNode m("ConvInteger", 10);
  m.In("x", kU8).In("w", kU8).Out("y", kI32).Ints("strides", {0, 1});
  EXPECT_FALSE(m.Load().ok());
  OneNode p("ConvInteger", 10);
  p.In("x", kU8).In("w", kU8).Out("y", kI32).Str("auto_pad", "WRONG");
  EXPECT_FALSE(p.Load().ok());
}

TEST(RefQuant, QLinearConvBiasAndPerChannelScale) {
  OneNode m("QLinearConv", 10);
  m.In("x", kU8).In("xs", kF).In("xz", kU8).In("w", kI8).In("ws", kF).In("wz", kI8);
  m.In("ys", kF).In("yz", kU8).In("b", kI32).Out("y", kU8);
  std::vector<Value> out;
  // 1x1 conv, 2 output channels: acc = (x - 2) * w + b; y = round(acc * 1 * ws / 0.5) + 10.
  ASSERT_TRUE(m.Run({TS<uint8_t>(kU8, {1, 1, 1, 2}, {4, 7}), Scalar<float>(kF, 1.f),
                     Scalar<uint8_t>(kU8, 2), TS<int8_t>(kI8, {2, 1, 1, 1}, {1, -2}),
                     T1<float>(kF, {0.25f, 0.5f}), T1<int8_t>(kI8, {0, 0}), Scalar<float>(kF, 0.5f),
                     Scalar<uint8_t>(kU8, 10), T1<int32_t>(kI32, {1, 0})},
                    &out)
                  .ok());
  // ch0: acc 3, 6 -> 1.5 -> 2, 3 -> 12, 13; ch1: acc -4, -10 -> -4, -10 -> 6, 0
  EXPECT_EQ(Vec<uint8_t>(out[0]), (std::vector<uint8_t>{12, 13, 6, 0}));
}

TEST(RefQuant, QLinearMatMulBadScale) {
  OneNode m("QLinearMatMul", 10);
  m.In("a", kU8).In("as", kF).In("az", kU8).In("b", kU8).In("bs", kF).In("bz", kU8);
  m.In("ys", kF).In("yz", kU8).Out("y", kU8);
  std::vector<Value> out;
  Status st = m.Run({TS<uint8_t>(kU8, {1, 1}, {1}), T1<float>(kF, {1, 2, 3}),
                     Scalar<uint8_t>(kU8, 0), TS<uint8_t>(kU8, {1, 1}, {1}), Scalar<float>(kF, 1),
                     Scalar<uint8_t>(kU8, 0), Scalar<float>(kF, 1), Scalar<uint8_t>(kU8, 0)},
                    &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

// ---- signal ----

TEST(RefSignal, DftOnesidedZeroPaddedAndInverse) {
  OneNode m("DFT", 17);
  m.In("x", kF).In("n", kI64).Out("y", kF).Int("onesided", 1);
  std::vector<Value> out;
  ASSERT_TRUE(m.Run({TS<float>(kF, {1, 3, 1}, {1, 2, 3}), Scalar<int64_t>(kI64, 4)}, &out).ok());
  EXPECT_EQ(out[0].tensor.shape(), (Shape{1, 3, 2}));
  // [1,2,3,0]: X0 = 6, X1 = -2 - 2i, X2 = 2
  std::vector<float> want{6, 0, -2, -2, 2, 0};
  std::vector<float> got = Vec<float>(out[0]);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;

  OneNode inv("DFT", 17);
  inv.In("x", kF).Out("y", kF).Int("inverse", 1);
  ASSERT_TRUE(inv.Run({TS<float>(kF, {1, 2, 2}, {4, 0, 2, 0})}, &out).ok());
  got = Vec<float>(out[0]);  // (4 + 2) / 2, (4 - 2) / 2
  EXPECT_NEAR(got[0], 3, 1e-6);
  EXPECT_NEAR(got[2], 1, 1e-6);
}

TEST(RefSignal, DftErrors) {
  std::vector<Value> out;
  OneNode last("DFT", 17);
  last.In("x", kF).Out("y", kF).Int("axis", 2);
  EXPECT_EQ(last.Run({TS<float>(kF, {1, 2, 1}, {1, 2})}, &out).code(), StatusCode::kOutOfRange);
  OneNode m("DFT", 17);
  m.In("x", kF).In("n", kI64).Out("y", kF);
  EXPECT_EQ(
      m.Run({TS<float>(kF, {1, 2, 3}, {1, 2, 3, 4, 5, 6}), Scalar<int64_t>(kI64, 2)}, &out).code(),
      StatusCode::kInvalidArgument);  // last dim must be 1 or 2
  EXPECT_EQ(m.Run({TS<float>(kF, {1, 2, 1}, {1, 2}), Scalar<int64_t>(kI64, 0)}, &out).code(),
            StatusCode::kInvalidArgument);
}

TEST(RefSignal, StftErrors) {
  OneNode m("STFT", 17);
  m.In("x", kF).In("step", kI64).In("", kF).In("len", kI64).Out("y", kF);
  std::vector<Value> out;
  Tensor x = TS<float>(kF, {1, 4, 1}, {1, 2, 3, 4});
  EXPECT_FALSE(m.Run({x, Scalar<int64_t>(kI64, 0), Scalar<int64_t>(kI64, 2)}, &out).ok());
  EXPECT_FALSE(m.Run({x, Scalar<int64_t>(kI64, 1), Scalar<int64_t>(kI64, 8)}, &out).ok());
  ASSERT_TRUE(m.Run({x, Scalar<int64_t>(kI64, 2), Scalar<int64_t>(kI64, 2)}, &out).ok());
  EXPECT_EQ(out[0].tensor.shape(), (Shape{1, 2, 2, 2}));
  std::vector<float> got = Vec<float>(out[0]);  // frames [1,2], [3,4]: (3, 0), (-1, 0)
  EXPECT_NEAR(got[0], 3, 1e-6);
  EXPECT_NEAR(got[2], -1, 1e-6);
  EXPECT_NEAR(got[4], 7, 1e-6);
}

TEST(RefSignal, WindowsEdgeCases) {
  std::vector<Value> out;
  OneNode m("HannWindow", 17);
  m.In("n", kI64).Out("y", DataType::kFloat64).Int("periodic", 0).Int("output_datatype", 11);
  ASSERT_TRUE(m.Run({Scalar<int64_t>(kI64, 1)}, &out).ok());
  EXPECT_EQ(Vec<double>(out[0]), (std::vector<double>{1.0}));
  ASSERT_TRUE(m.Run({Scalar<int64_t>(kI64, 3)}, &out).ok());
  std::vector<double> w = Vec<double>(out[0]);
  EXPECT_NEAR(w[0], 0, 1e-12);
  EXPECT_NEAR(w[1], 1, 1e-12);
  EXPECT_EQ(m.Run({Scalar<int64_t>(kI64, -1)}, &out).code(), StatusCode::kInvalidArgument);
  OneNode bad("BlackmanWindow", 17);
  bad.In("n", kI64).Out("y", kF).Int("output_datatype", 8);
  EXPECT_FALSE(bad.Load().ok());
}

TEST(RefSignal, MelWeightMatrixRejectsBandsAboveNyquist) {
  OneNode m("MelWeightMatrix", 17);
  m.In("bins", kI32).In("n", kI32).In("rate", kI32).In("lo", kF).In("hi", kF).Out("y", kF);
  std::vector<Value> out;
  Status st = m.Run({Scalar<int32_t>(kI32, 4), Scalar<int32_t>(kI32, 16),
                     Scalar<int32_t>(kI32, 8000), Scalar<float>(kF, 0), Scalar<float>(kF, 8000)},
                    &out);
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  st = m.Run({Scalar<int32_t>(kI32, 0), Scalar<int32_t>(kI32, 16), Scalar<int32_t>(kI32, 8000),
              Scalar<float>(kF, 0), Scalar<float>(kF, 4000)},
             &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

// ---- misc ----

TEST(RefMisc, NonMaxSuppressionErrorsAndEdgeCases) {
  OneNode m("NonMaxSuppression", 11);
  m.In("b", kF).In("s", kF).In("max", kI64).Out("y", kI64);
  std::vector<Value> out;
  Tensor boxes = TS<float>(kF, {1, 2, 4}, {0, 0, 1, 1, 0, 0, 1, 1});
  Status st = m.Run({boxes, TS<float>(kF, {1, 1, 3}, {1, 1, 1}), Scalar<int64_t>(kI64, 5)}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      m.Run({boxes, TS<float>(kF, {1, 1, 2}, {0.5f, 0.9f}), Scalar<int64_t>(kI64, 0)}, &out).ok());
  EXPECT_EQ(out[0].tensor.shape(), (Shape{0, 3}));
  ASSERT_TRUE(
      m.Run({boxes, TS<float>(kF, {1, 1, 2}, {NAN, 0.9f}), Scalar<int64_t>(kI64, 5)}, &out).ok());
  EXPECT_EQ(Vec<int64_t>(out[0]), (std::vector<int64_t>{0, 0, 1}));
  OneNode bad("NonMaxSuppression", 11);
  bad.In("b", kF).In("s", kF).Out("y", kI64).Int("center_point_box", 2);
  EXPECT_FALSE(bad.Load().ok());
}

TEST(RefMisc, StringNormalizerInsensitiveLower) {
  OneNode m("StringNormalizer", 10);
  m.In("x", kStr).Out("y", kStr).Str("case_change_action", "LOWER").Strs("stopwords", {"THE"});
  std::vector<Value> out;
  ASSERT_TRUE(m.Run({T1<std::string>(kStr, {"The", "Cat", "the"})}, &out).ok());
  EXPECT_EQ(Vec<std::string>(out[0]), (std::vector<std::string>{"cat"}));
  EXPECT_FALSE(m.Run({TS<std::string>(kStr, {2, 1}, {"a", "b"})}, &out).ok());
  OneNode bad("StringNormalizer", 10);
  bad.In("x", kStr).Out("y", kStr).Str("case_change_action", "TITLE");
  EXPECT_FALSE(bad.Load().ok());
}

TEST(RefMisc, TfIdfStringsWeightsAndErrors) {
  OneNode m("TfIdfVectorizer", 9);
  m.In("x", kStr).Out("y", kF).Int("min_gram_length", 1).Int("max_gram_length", 2);
  m.Int("max_skip_count", 1).Str("mode", "TFIDF").Ints("ngram_counts", {0, 2});
  m.Ints("ngram_indexes", {1, 0, 2}).Strs("pool_strings", {"a", "b", "a", "b"});
  m.Floats("weights", {2.f, 3.f, 5.f});
  std::vector<Value> out;
  // "a c b a b": a x2 (slot 1), b x2 (slot 0), a-b: adjacent at 3, skip-1 at 0 -> 2 (slot 2)
  ASSERT_TRUE(m.Run({T1<std::string>(kStr, {"a", "c", "b", "a", "b"})}, &out).ok());
  EXPECT_EQ(Vec<float>(out[0]), (std::vector<float>{6.f, 4.f, 10.f}));
  EXPECT_FALSE(m.Run({T1<int64_t>(kI64, {1, 2})}, &out).ok());  // type does not match pool

  OneNode bad("TfIdfVectorizer", 9);
  bad.In("x", kI64).Out("y", kF).Int("min_gram_length", 1).Int("max_gram_length", 2);
  bad.Int("max_skip_count", 0).Str("mode", "TF").Ints("ngram_counts", {0, 1});
  bad.Ints("ngram_indexes", {0, 1}).Ints("pool_int64s", {1, 2, 3, 4});  // 3 items as bigrams
  EXPECT_FALSE(bad.Load().ok());
}

TEST(RefMisc, RandomOpsSeededAndInRange) {
  OneNode m("RandomUniform", 1);
  m.Out("y", kF).Ints("shape", {4, 8}).Float("low", 2.f).Float("high", 3.f).Float("seed", 7.f);
  std::vector<Value> a, b;
  ASSERT_TRUE(m.Run({}, &a).ok());
  ASSERT_TRUE(m.Run({}, &b).ok());
  EXPECT_EQ(Vec<float>(a[0]), Vec<float>(b[0]));
  for (float v : Vec<float>(a[0])) {
    EXPECT_GE(v, 2.f);
    EXPECT_LE(v, 3.f);
  }
  OneNode bern("Bernoulli", 15);
  bern.In("p", kF).Out("y", DataType::kBool).Int("dtype", 9);
  ASSERT_TRUE(bern.Run({T1<float>(kF, {0.f, 1.f, 0.f, 1.f})}, &a).ok());
  EXPECT_EQ(Vec<bool>(a[0]), (std::vector<bool>{false, true, false, true}));
  OneNode noshape("RandomNormal", 1);
  noshape.Out("y", kF);
  EXPECT_FALSE(noshape.Load().ok());
  OneNode like("RandomNormalLike", 1);
  like.In("x", kF).Out("y", DataType::kFloat64).Int("dtype", 11);
  ASSERT_TRUE(like.Run({TS<float>(kF, {2, 3}, {1, 2, 3, 4, 5, 6})}, &a).ok());
  EXPECT_EQ(a[0].tensor.dtype(), DataType::kFloat64);
  EXPECT_EQ(a[0].tensor.shape(), (Shape{2, 3}));
}

TEST(RefMisc, TrainingOptimizerErrors) {
  const char* kDomain = "ai.onnx.preview.training";
  OneNode m("Adagrad", 1, kDomain);
  m.In("r", kF).In("t", kI64).In("x", kF).In("g", kF).In("h", kF).Out("x2", kF).Out("h2", kF);
  std::vector<Value> out;
  Tensor x = T1<float>(kF, {1, 2});
  Status st = m.Run({Scalar<float>(kF, 0.1f), Scalar<int32_t>(kI32, 0), x, x, x}, &out);
  EXPECT_FALSE(st.ok());  // T must be int64
  st = m.Run({Scalar<float>(kF, 0.1f), Scalar<int64_t>(kI64, 0), x, T1<float>(kF, {1}), x}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(m.Run({Scalar<float>(kF, 0.5f), Scalar<int64_t>(kI64, 0), T1<float>(kF, {1}),
                     T1<float>(kF, {3}), T1<float>(kF, {0})},
                    &out)
                  .ok());
  EXPECT_NEAR(Vec<float>(out[0])[0], 1 - 0.5 * 3 / (3 + 1e-6), 1e-6);  // h = 9
  EXPECT_FLOAT_EQ(Vec<float>(out[1])[0], 9.f);

  OneNode mom("Momentum", 1, kDomain);
  mom.In("r", kF).In("t", kI64).In("x", kF).In("g", kF).In("v", kF).Out("x2", kF);
  mom.Float("alpha", 0.9f).Float("beta", 1.f).Float("norm_coefficient", 0.f);
  EXPECT_FALSE(mom.Load().ok());  // mode is required
  OneNode grp("Adam", 1, kDomain);
  grp.In("r", kF).In("t", kI64).In("x", kF).In("g", kF).In("v", kF).Out("x2", kF);
  EXPECT_FALSE(grp.Load().ok());  // Adam needs X, G, V and H per parameter
}

}  // namespace
}  // namespace tern
