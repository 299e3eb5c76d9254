// Reference kernels of the recurrent / control-flow / sequence family: behaviour the ONNX backend
// cases do not cover (layout=1, sequence_lens, clip, input_forget, linear_before_reset,
// activation parameters, Scan axes/directions, opset-8 Scan, Loop edge cases) and error paths.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "tern/session.h"

namespace {

using tern::DataType;
using tern::Session;
using tern::Shape;
using tern::StatusCode;
using tern::Tensor;
using tern::Value;

constexpr int32_t kF = ::onnx::TensorProto::FLOAT;
constexpr int32_t kI64 = ::onnx::TensorProto::INT64;
constexpr int32_t kI32 = ::onnx::TensorProto::INT32;
constexpr int32_t kB = ::onnx::TensorProto::BOOL;

// A graph under construction.
struct G {
  ::onnx::GraphProto g;
  explicit G(const std::string& name = "g") { g.set_name(name); }
  static void Type(::onnx::ValueInfoProto* vi, int32_t elem, bool seq) {
    auto* t = vi->mutable_type();
    if (seq) t = t->mutable_sequence_type()->mutable_elem_type();
    t->mutable_tensor_type()->set_elem_type(elem);
  }
  G& In(const std::string& n, int32_t elem, bool seq = false) {
    auto* vi = g.add_input();
    vi->set_name(n);
    Type(vi, elem, seq);
    return *this;
  }
  G& Out(const std::string& n, int32_t elem, bool seq = false) {
    auto* vi = g.add_output();
    vi->set_name(n);
    Type(vi, elem, seq);
    return *this;
  }
  ::onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& ins,
                          const std::vector<std::string>& outs) {
    auto* n = g.add_node();
    n->set_op_type(op);
    n->set_name(op + std::to_string(g.node_size()));
    for (const auto& i : ins) n->add_input(i);
    for (const auto& o : outs) n->add_output(o);
    return n;
  }
};

::onnx::AttributeProto* Attr(::onnx::NodeProto* n, const std::string& name,
                             ::onnx::AttributeProto::AttributeType type) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}
void AttrI(::onnx::NodeProto* n, const std::string& name, int64_t v) {
  Attr(n, name, ::onnx::AttributeProto::INT)->set_i(v);
}
void AttrF(::onnx::NodeProto* n, const std::string& name, float v) {
  Attr(n, name, ::onnx::AttributeProto::FLOAT)->set_f(v);
}
void AttrS(::onnx::NodeProto* n, const std::string& name, const std::string& v) {
  Attr(n, name, ::onnx::AttributeProto::STRING)->set_s(v);
}
void AttrInts(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = Attr(n, name, ::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void AttrFloats(::onnx::NodeProto* n, const std::string& name, const std::vector<float>& v) {
  auto* a = Attr(n, name, ::onnx::AttributeProto::FLOATS);
  for (float x : v) a->add_floats(x);
}
void AttrStrings(::onnx::NodeProto* n, const std::string& name, const std::vector<std::string>& v) {
  auto* a = Attr(n, name, ::onnx::AttributeProto::STRINGS);
  for (const auto& x : v) a->add_strings(x);
}
void AttrG(::onnx::NodeProto* n, const std::string& name, const G& g) {
  *Attr(n, name, ::onnx::AttributeProto::GRAPH)->mutable_g() = g.g;
}

tern::Result<std::unique_ptr<Session>> Load(const G& g, int64_t opset) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  *m.mutable_graph() = g.g;
  std::string bytes = m.SerializeAsString();
  return Session::LoadFromMemory(bytes.data(), bytes.size());
}

Value F(const Shape& s, const std::vector<float>& v) {
  return Value(Tensor::FromVector(DataType::kFloat32, s, v));
}
Value I64(const Shape& s, const std::vector<int64_t>& v) {
  return Value(Tensor::FromVector(DataType::kInt64, s, v));
}
Value I32(const Shape& s, const std::vector<int32_t>& v) {
  return Value(Tensor::FromVector(DataType::kInt32, s, v));
}
Value Bool(bool b) {
  Tensor t = Tensor::Allocate(DataType::kBool, Shape{}).value();
  t.data<bool>()[0] = b;
  return Value(t);
}
std::vector<float> Floats(const Value& v) {
  const float* p = v.tensor.data<float>();
  return std::vector<float>(p, p + v.tensor.numel());
}

// Runs a one-node model; returns the status and outputs.
struct Run1 {
  tern::Status status;
  std::vector<Value> outs;
};
Run1 RunModel(const G& g, int64_t opset, const std::vector<Value>& ins) {
  Run1 r;
  auto s = Load(g, opset);
  if (!s.ok()) {
    r.status = s.status();
    return r;
  }
  r.status = (*s)->Run(ins, &r.outs);
  return r;
}

// ---- RNN family ----

// RNN with H=I=1, W=1, R=1, tanh: h_t = tanh(x_t + h_{t-1}).
G SimpleRnn(const std::string& direction, bool with_lens) {
  G g;
  g.In("X", kF).In("W", kF).In("R", kF);
  if (with_lens) g.In("L", kI32);
  g.Out("Y", kF).Out("Yh", kF);
  auto* n = g.Node("RNN", {"X", "W", "R", "", with_lens ? "L" : ""}, {"Y", "Yh"});
  AttrI(n, "hidden_size", 1);
  AttrS(n, "direction", direction);
  return g;
}

TEST(RefRnn, ReverseWithSequenceLens) {
  // X [S=3, N=2, I=1]; batch 0 has length 2, batch 1 length 3.
  auto r = RunModel(SimpleRnn("reverse", true), 14,
                    {F({3, 2, 1}, {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}), F({1, 1, 1}, {1}),
                     F({1, 1, 1}, {1}), I32({2}, {2, 3})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  const auto y = Floats(r.outs[0]);  // [S, 1, N, 1]
  const float h1 = std::tanh(0.3f), h0 = std::tanh(0.1f + h1);
  EXPECT_NEAR(y[0], h0, 1e-6);
  EXPECT_NEAR(y[2], h1, 1e-6);
  EXPECT_EQ(y[4], 0.0f);  // beyond the sequence length
  EXPECT_NEAR(Floats(r.outs[1])[0], h0, 1e-6);
  const float b2 = std::tanh(0.6f), b1 = std::tanh(0.4f + b2), b0 = std::tanh(0.2f + b1);
  EXPECT_NEAR(y[5], b2, 1e-6);
  EXPECT_NEAR(Floats(r.outs[1])[1], b0, 1e-6);
}

TEST(RefRnn, SequenceLensOutOfRange) {
  auto r = RunModel(SimpleRnn("forward", true), 14,
                    {F({3, 1, 1}, {1, 2, 3}), F({1, 1, 1}, {1}), F({1, 1, 1}, {1}), I32({1}, {4})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange);
}

TEST(RefRnn, BadWeightShape) {
  auto r = RunModel(SimpleRnn("forward", false), 14,
                    {F({3, 1, 1}, {1, 2, 3}), F({1, 2, 1}, {1, 1}), F({1, 1, 1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunModel(SimpleRnn("bidirectional", false), 14,
               {F({3, 1, 1}, {1, 2, 3}), F({1, 1, 1}, {1}), F({1, 1, 1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  r = RunModel(SimpleRnn("forward", false), 14,
               {F({3, 1}, {1, 2, 3}), F({1, 1, 1}, {1}), F({1, 1, 1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

TEST(RefRnn, BadAttributes) {
  G g = SimpleRnn("sideways", false);
  EXPECT_FALSE(Load(g, 14).ok());
  G g2 = SimpleRnn("forward", false);
  AttrStrings(g2.g.mutable_node(0), "activations", {"NoSuchThing"});
  EXPECT_FALSE(Load(g2, 14).ok());
  G g3 = SimpleRnn("forward", false);
  AttrI(g3.g.mutable_node(0), "layout", 2);
  EXPECT_FALSE(Load(g3, 14).ok());
}

TEST(RefRnn, AffineActivationParameters) {
  G g = SimpleRnn("forward", false);
  AttrStrings(g.g.mutable_node(0), "activations", {"Affine"});
  AttrFloats(g.g.mutable_node(0), "activation_alpha", {2});
  AttrFloats(g.g.mutable_node(0), "activation_beta", {3});
  // R = 0: h_t = 2 x_t + 3.
  auto r = RunModel(g, 14, {F({2, 1, 1}, {1, 5}), F({1, 1, 1}, {1}), F({1, 1, 1}, {0})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Floats(r.outs[0]), (std::vector<float>{5, 13}));
}

TEST(RefRnn, LayoutOneMatchesLayoutZero) {
  // Bidirectional, N=2, S=3, I=1, H=1 with initial_h; layout 1 inputs are transposed.
  auto build = [](int layout) {
    G g;
    g.In("X", kF).In("W", kF).In("R", kF).In("H0", kF).Out("Y", kF).Out("Yh", kF);
    auto* n = g.Node("RNN", {"X", "W", "R", "", "", "H0"}, {"Y", "Yh"});
    AttrI(n, "hidden_size", 1);
    AttrS(n, "direction", "bidirectional");
    AttrI(n, "layout", layout);
    return g;
  };
  const std::vector<float> x0 = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};  // [S][N]
  std::vector<float> x1(6);                                            // [N][S]
  for (int s = 0; s < 3; ++s)
    for (int n = 0; n < 2; ++n) x1[n * 3 + s] = x0[s * 2 + n];
  const std::vector<float> h0 = {0.5f, -0.5f, 0.25f, -0.25f};  // [D][N]
  std::vector<float> h1 = {0.5f, 0.25f, -0.5f, -0.25f};        // [N][D]
  auto a = RunModel(
      build(0), 14,
      {F({3, 2, 1}, x0), F({2, 1, 1}, {1, 0.5f}), F({2, 1, 1}, {0.7f, 0.3f}), F({2, 2, 1}, h0)});
  auto b = RunModel(
      build(1), 14,
      {F({2, 3, 1}, x1), F({2, 1, 1}, {1, 0.5f}), F({2, 1, 1}, {0.7f, 0.3f}), F({2, 2, 1}, h1)});
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  EXPECT_EQ(b.outs[0].tensor.shape(), Shape({2, 3, 2, 1}));
  EXPECT_EQ(b.outs[1].tensor.shape(), Shape({2, 2, 1}));
  const auto ya = Floats(a.outs[0]), yb = Floats(b.outs[0]);  // [S][D][N] vs [N][S][D]
  for (int s = 0; s < 3; ++s)
    for (int d = 0; d < 2; ++d)
      for (int n = 0; n < 2; ++n) EXPECT_EQ(ya[(s * 2 + d) * 2 + n], yb[(n * 3 + s) * 2 + d]);
  const auto ha = Floats(a.outs[1]), hb = Floats(b.outs[1]);
  for (int d = 0; d < 2; ++d)
    for (int n = 0; n < 2; ++n) EXPECT_EQ(ha[d * 2 + n], hb[n * 2 + d]);
}

G OneStepLstm(bool input_forget, bool clip) {
  G g;
  g.In("X", kF).In("W", kF).In("R", kF).In("B", kF).In("H0", kF).In("C0", kF);
  g.Out("Y", kF).Out("Yh", kF).Out("Yc", kF);
  auto* n = g.Node("LSTM", {"X", "W", "R", "B", "", "H0", "C0"}, {"Y", "Yh", "Yc"});
  AttrI(n, "hidden_size", 1);
  if (input_forget) AttrI(n, "input_forget", 1);
  if (clip) AttrF(n, "clip", 0.0f);
  return g;
}

TEST(RefLstm, InputForgetAndClip) {
  // H=I=1, W=R=0; Wb_i = 100 (input gate ~1), other biases 0, C0 = 1.
  const std::vector<Value> ins = {F({1, 1, 1}, {1}),          F({1, 4, 1}, {0, 0, 0, 0}),
                                  F({1, 4, 1}, {0, 0, 0, 0}), F({1, 8}, {100, 0, 0, 0, 0, 0, 0, 0}),
                                  F({1, 1, 1}, {0}),          F({1, 1, 1}, {1})};
  auto plain = RunModel(OneStepLstm(false, false), 14, ins);
  ASSERT_TRUE(plain.status.ok()) << plain.status.ToString();
  EXPECT_NEAR(Floats(plain.outs[2])[0], 0.5f, 1e-6);  // f = 0.5, candidate tanh(0) = 0
  auto coupled = RunModel(OneStepLstm(true, false), 14, ins);
  ASSERT_TRUE(coupled.status.ok()) << coupled.status.ToString();
  EXPECT_NEAR(Floats(coupled.outs[2])[0], 0.0f, 1e-6);  // f = 1 - i = 0
  auto clipped = RunModel(OneStepLstm(false, true), 14, ins);
  ASSERT_TRUE(clipped.status.ok()) << clipped.status.ToString();
  // clip 0: every gate input is 0 -> i = f = o = 0.5, C = 0.5, H = 0.5 tanh(0.5).
  EXPECT_NEAR(Floats(clipped.outs[2])[0], 0.5f, 1e-6);
  EXPECT_NEAR(Floats(clipped.outs[1])[0], 0.5f * std::tanh(0.5f), 1e-6);
}

TEST(RefLstm, BadPeepholeShape) {
  G g;
  g.In("X", kF).In("W", kF).In("R", kF).In("P", kF).Out("Y", kF);
  auto* n = g.Node("LSTM", {"X", "W", "R", "", "", "", "", "P"}, {"Y"});
  AttrI(n, "hidden_size", 1);
  auto r = RunModel(g, 14,
                    {F({1, 1, 1}, {1}), F({1, 4, 1}, {0, 0, 0, 0}), F({1, 4, 1}, {0, 0, 0, 0}),
                     F({1, 2}, {0, 0})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

TEST(RefGru, LinearBeforeReset) {
  // H=I=1, W=0, Rz=Rr=0, Rh=2, Rbh=1, H0=1: z = r = 0.5.
  auto build = [](int lbr) {
    G g;
    g.In("X", kF).In("W", kF).In("R", kF).In("B", kF).In("H0", kF).Out("Yh", kF);
    auto* n = g.Node("GRU", {"X", "W", "R", "B", "", "H0"}, {"", "Yh"});
    AttrI(n, "hidden_size", 1);
    AttrI(n, "linear_before_reset", lbr);
    return g;
  };
  const std::vector<Value> ins = {F({1, 1, 1}, {1}), F({1, 3, 1}, {0, 0, 0}),
                                  F({1, 3, 1}, {0, 0, 2}), F({1, 6}, {0, 0, 0, 0, 0, 1}),
                                  F({1, 1, 1}, {1})};
  auto a = RunModel(build(0), 14, ins);
  auto b = RunModel(build(1), 14, ins);
  ASSERT_TRUE(a.status.ok()) << a.status.ToString();
  ASSERT_TRUE(b.status.ok()) << b.status.ToString();
  EXPECT_NEAR(Floats(a.outs[0])[0], 0.5f * std::tanh(2.0f) + 0.5f, 1e-6);
  EXPECT_NEAR(Floats(b.outs[0])[0], 0.5f * std::tanh(1.5f) + 0.5f, 1e-6);
}

// ---- If / Loop / Scan ----

TEST(RefIf, BranchesReadOuterValues) {
  G then_b("then"), else_b("else");
  then_b.Node("Identity", {"x"}, {"t"});
  then_b.Out("t", kF);
  else_b.Node("Add", {"x", "y"}, {"e"});
  else_b.Out("e", kF);
  G g;
  g.In("c", kB).In("x", kF).In("y", kF).Out("z", kF);
  auto* n = g.Node("If", {"c"}, {"z"});
  AttrG(n, "then_branch", then_b);
  AttrG(n, "else_branch", else_b);
  auto s = Load(g, 16);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Value> outs;
  ASSERT_TRUE(
      (*s)->Run(std::vector<Value>{Bool(true), F({2}, {1, 2}), F({2}, {10, 20})}, &outs).ok());
  EXPECT_EQ(Floats(outs[0]), (std::vector<float>{1, 2}));
  ASSERT_TRUE(
      (*s)->Run(std::vector<Value>{Bool(false), F({2}, {1, 2}), F({2}, {10, 20})}, &outs).ok());
  EXPECT_EQ(Floats(outs[0]), (std::vector<float>{11, 22}));
  // cond must be one bool.
  Tensor two = Tensor::Allocate(DataType::kBool, Shape{2}).value();
  EXPECT_EQ(
      (*s)->Run(std::vector<Value>{Value(two), F({2}, {1, 2}), F({2}, {10, 20})}, &outs).code(),
      StatusCode::kInvalidArgument);
}

TEST(RefIf, BranchOutputCountMismatch) {
  G then_b("then"), else_b("else");
  then_b.Node("Identity", {"x"}, {"t"});
  then_b.Out("t", kF);
  G g;
  g.In("c", kB).In("x", kF).Out("z", kF);
  auto* n = g.Node("If", {"c"}, {"z"});
  AttrG(n, "then_branch", then_b);
  AttrG(n, "else_branch", else_b);
  EXPECT_FALSE(Load(g, 16).ok());
}

// Loop body: acc += 1 each iteration, scan output = acc.
G CountingLoop(bool with_m, bool with_cond) {
  G body("body");
  body.In("i", kI64).In("cin", kB).In("acc", kF);
  body.Node("Add", {"acc", "one"}, {"acc2"});
  body.Node("Identity", {"cin"}, {"cout"});
  body.Node("Identity", {"acc2"}, {"scan"});
  auto* c = body.Node("Constant", {}, {"one"});
  auto* a = c->add_attribute();
  a->set_name("value_float");
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(1.0f);
  // Constant must come before its use.
  body.g.mutable_node()->SwapElements(0, 3);
  body.Out("cout", kB).Out("acc2", kF).Out("scan", kF);
  G g;
  if (with_m) g.In("M", kI64);
  if (with_cond) g.In("cond", kB);
  g.In("a0", kF).Out("acc", kF).Out("scans", kF);
  auto* n = g.Node("Loop", {with_m ? "M" : "", with_cond ? "cond" : "", "a0"}, {"acc", "scans"});
  AttrG(n, "body", body);
  return g;
}

TEST(RefLoop, TripCountAndScanOutputs) {
  auto r = RunModel(CountingLoop(true, true), 16, {I64({}, {3}), Bool(true), F({1}, {0})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Floats(r.outs[0]), (std::vector<float>{3}));
  EXPECT_EQ(r.outs[1].tensor.shape(), Shape({3, 1}));
  EXPECT_EQ(Floats(r.outs[1]), (std::vector<float>{1, 2, 3}));
}

TEST(RefLoop, ZeroIterations) {
  auto r = RunModel(CountingLoop(true, true), 16, {I64({}, {0}), Bool(true), F({1}, {5})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Floats(r.outs[0]), (std::vector<float>{5}));
  EXPECT_EQ(r.outs[1].tensor.dim(0), 0);
  r = RunModel(CountingLoop(true, true), 16, {I64({}, {4}), Bool(false), F({1}, {5})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Floats(r.outs[0]), (std::vector<float>{5}));
}

TEST(RefLoop, Errors) {
  // Neither M nor cond: it would never end.
  auto r = RunModel(CountingLoop(false, false), 16, {F({1}, {0})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  // M must be an integer scalar.
  r = RunModel(CountingLoop(true, true), 16, {I64({2}, {1, 2}), Bool(true), F({1}, {0})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  // cond must be bool.
  r = RunModel(CountingLoop(true, true), 16, {I64({}, {1}), F({}, {1}), F({1}, {0})});
  EXPECT_FALSE(r.status.ok());
}

// Scan body: s += x; y = s.
G ScanBody() {
  G body("body");
  body.In("s", kF).In("x", kF);
  body.Node("Add", {"s", "x"}, {"s2"});
  body.Node("Identity", {"s2"}, {"y"});
  body.Out("s2", kF).Out("y", kF);
  return body;
}

TEST(RefScan, AxesAndDirections) {
  auto build = [](int out_dir) {
    G g;
    g.In("s0", kF).In("X", kF).Out("s", kF).Out("Y", kF);
    auto* n = g.Node("Scan", {"s0", "X"}, {"s", "Y"});
    AttrG(n, "body", ScanBody());
    AttrI(n, "num_scan_inputs", 1);
    AttrInts(n, "scan_input_axes", {-1});
    AttrInts(n, "scan_input_directions", {1});
    AttrInts(n, "scan_output_axes", {1});
    AttrInts(n, "scan_output_directions", {out_dir});
    return g;
  };
  const std::vector<Value> ins = {F({2}, {0, 0}), F({2, 3}, {1, 2, 3, 4, 5, 6})};
  auto r = RunModel(build(0), 16, ins);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Floats(r.outs[0]), (std::vector<float>{6, 15}));
  EXPECT_EQ(r.outs[1].tensor.shape(), Shape({2, 3}));
  EXPECT_EQ(Floats(r.outs[1]), (std::vector<float>{3, 5, 6, 6, 11, 15}));
  r = RunModel(build(1), 16, ins);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Floats(r.outs[1]), (std::vector<float>{6, 5, 3, 15, 11, 6}));
}

TEST(RefScan, Errors) {
  G g;
  g.In("s0", kF).In("X", kF).In("X2", kF).Out("s", kF).Out("Y", kF);
  auto* n = g.Node("Scan", {"s0", "X", "X2"}, {"s", "Y"});
  G body = ScanBody();
  body.In("x2", kF);
  AttrG(n, "body", body);
  AttrI(n, "num_scan_inputs", 2);
  // Different sequence lengths.
  auto r = RunModel(g, 16, {F({}, {0}), F({3}, {1, 2, 3}), F({2}, {1, 2})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  // Axis out of range.
  AttrInts(g.g.mutable_node(0), "scan_input_axes", {0, 1});
  r = RunModel(g, 16, {F({}, {0}), F({3}, {1, 2, 3}), F({3}, {1, 2, 3})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange);
  // Too many scan inputs.
  G g2;
  g2.In("X", kF).Out("Y", kF);
  auto* n2 = g2.Node("Scan", {"X"}, {"Y"});
  AttrG(n2, "body", ScanBody());
  AttrI(n2, "num_scan_inputs", 3);
  EXPECT_FALSE(Load(g2, 16).ok());
}

TEST(RefScan, Opset8BatchAndSequenceLens) {
  G g;
  g.In("L", kI32).In("s0", kF).In("X", kF).Out("s", kF).Out("Y", kF);
  auto* n = g.Node("Scan", {"L", "s0", "X"}, {"s", "Y"});
  AttrG(n, "body", ScanBody());
  AttrI(n, "num_scan_inputs", 1);
  auto r = RunModel(g, 8, {I32({2}, {2, 1}), F({2, 1}, {0, 0}), F({2, 2, 1}, {1, 2, 3, 4})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(Floats(r.outs[0]), (std::vector<float>{3, 3}));
  EXPECT_EQ(r.outs[1].tensor.shape(), Shape({2, 2, 1}));
  EXPECT_EQ(Floats(r.outs[1]), (std::vector<float>{1, 3, 3, 0}));
  r = RunModel(g, 8, {I32({2}, {3, 1}), F({2, 1}, {0, 0}), F({2, 2, 1}, {1, 2, 3, 4})});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange);
}

// ---- sequences and optionals ----

TEST(RefSequence, PositionErrors) {
  G g;
  g.In("x", kF).In("p", kI64).Out("y", kF);
  g.Node("SequenceConstruct", {"x", "x"}, {"s"});
  g.Node("SequenceAt", {"s", "p"}, {"y"});
  auto s = Load(g, 17);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Value> outs;
  ASSERT_TRUE((*s)->Run(std::vector<Value>{F({1}, {7}), I64({}, {-2})}, &outs).ok());
  EXPECT_EQ(Floats(outs[0]), (std::vector<float>{7}));
  EXPECT_EQ((*s)->Run(std::vector<Value>{F({1}, {7}), I64({}, {2})}, &outs).code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ((*s)->Run(std::vector<Value>{F({1}, {7}), I64({}, {-3})}, &outs).code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ((*s)->Run(std::vector<Value>{F({1}, {7}), I64({2}, {0, 0})}, &outs).code(),
            StatusCode::kInvalidArgument);

  G e;
  e.Out("n", kI64);
  e.Node("SequenceEmpty", {}, {"s"});
  e.Node("SequenceErase", {"s"}, {"s2"});
  e.Node("SequenceLength", {"s2"}, {"n"});
  auto r = RunModel(e, 17, {});
  EXPECT_EQ(r.status.code(), StatusCode::kOutOfRange);
}

TEST(RefSequence, InsertTypeMismatch) {
  G g;
  g.In("t", kI64).Out("s", kF, true);
  g.Node("SequenceEmpty", {}, {"e"});
  g.Node("SequenceInsert", {"e", "t"}, {"s"});
  auto r = RunModel(g, 17, {I64({1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

TEST(RefSequence, SplitAndConcat) {
  G g;
  g.In("x", kF).In("split", kI64).Out("n", kI64).Out("y", kF).Out("z", kF);
  auto* sp = g.Node("SplitToSequence", {"x", "split"}, {"s"});
  AttrI(sp, "axis", 1);
  g.Node("SequenceLength", {"s"}, {"n"});
  AttrI(g.Node("ConcatFromSequence", {"s"}, {"y"}), "axis", -1);
  auto* st = g.Node("ConcatFromSequence", {"s2"}, {"z"});
  AttrI(st, "axis", -1);
  AttrI(st, "new_axis", 1);
  auto* sp2 = g.Node("SplitToSequence", {"x"}, {"s2"});
  AttrI(sp2, "axis", 1);
  AttrI(sp2, "keepdims", 0);
  auto s = Load(g, 17);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Value> outs;
  const Value x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  ASSERT_TRUE((*s)->Run(std::vector<Value>{x, I64({}, {2})}, &outs).ok());
  EXPECT_EQ(outs[0].tensor.data<int64_t>()[0], 2);  // chunks of 2 and 1
  EXPECT_EQ(Floats(outs[1]), Floats(x));
  EXPECT_EQ(outs[2].tensor.shape(), Shape({2, 3}));  // columns stacked back on the last axis
  EXPECT_EQ(Floats(outs[2]), Floats(x));
  EXPECT_EQ((*s)->Run(std::vector<Value>{x, I64({2}, {1, 1})}, &outs).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*s)->Run(std::vector<Value>{x, I64({}, {0})}, &outs).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*s)->Run(std::vector<Value>{x, I64({2}, {4, -1})}, &outs).code(),
            StatusCode::kInvalidArgument);
}

TEST(RefOptional, EmptyOptional) {
  G g;
  g.Out("has", kB).Out("v", kF);
  auto* o = g.Node("Optional", {}, {"opt"});
  auto* a = Attr(o, "type", ::onnx::AttributeProto::TYPE_PROTO);
  a->mutable_tp()->mutable_tensor_type()->set_elem_type(kF);
  g.Node("OptionalHasElement", {"opt"}, {"has"});
  g.Node("OptionalGetElement", {"opt"}, {"v"});
  auto r = RunModel(g, 18, {});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

// ---- empty tensors with huge dims must not allocate or iterate without bound ----

Value Empty(const Shape& s) { return Value(Tensor::Allocate(DataType::kFloat32, s).value()); }

TEST(RefBounds, EmptyInputsWithHugeDims) {
  const int64_t big = int64_t{1} << 30;
  auto r = RunModel(SimpleRnn("forward", false), 14,
                    {Empty({0, big, 0}), Empty({1, 1, 0}), F({1, 1, 1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kResourceExhausted);

  G split;
  split.In("x", kF).Out("n", kI64);
  AttrI(split.Node("SplitToSequence", {"x"}, {"s"}), "axis", 1);
  split.Node("SequenceLength", {"s"}, {"n"});
  r = RunModel(split, 17, {Empty({0, big})});
  EXPECT_EQ(r.status.code(), StatusCode::kResourceExhausted);

  G scan;
  scan.In("s0", kF).In("X", kF).Out("s", kF).Out("Y", kF);
  auto* n = scan.Node("Scan", {"s0", "X"}, {"s", "Y"});
  AttrG(n, "body", ScanBody());
  AttrI(n, "num_scan_inputs", 1);
  AttrInts(n, "scan_input_axes", {1});
  r = RunModel(scan, 16, {F({}, {0}), Empty({0, big})});
  EXPECT_EQ(r.status.code(), StatusCode::kResourceExhausted);
}

}  // namespace
