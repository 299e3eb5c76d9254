// Graph optimization passes: each test builds a small model, loads it with the passes off and on,
// checks what the optimized graph looks like (op histogram, pass counts) and that both sessions
// give the same outputs.
#include <gtest/gtest.h>

#include <cmath>

#include "model_builder.h"
#include "tern/session.h"

namespace tern {
namespace {

using test::ModelBuilder;
constexpr int32_t kF = ::onnx::TensorProto::FLOAT;

void IntsAttr(::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void IntAttr(::onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
void FloatAttr(::onnx::NodeProto* n, const std::string& name, float v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}
void Int64Init(ModelBuilder& b, const std::string& name, const std::vector<int64_t>& dims,
               const std::vector<int64_t>& values) {
  auto* t = b.graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
}
std::vector<float> Ramp(size_t n, float scale, float offset) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::sin(static_cast<float>(i) * 0.7f) * scale + offset;
  return v;
}

struct Loaded {
  std::map<std::string, int> ops;  ///< op histogram of the optimized session
  OptimizationReport report;
};

/// Loads `bytes` with passes off and on, runs both on the same inputs (shapes from the model's
/// declared inputs), expects equal outputs, and returns what the optimized session looks like.
Loaded LoadBoth(const std::string& bytes, const std::vector<std::string>& disabled = {}) {
  SessionOptions off, on;
  off.optimization_level = 0;
  on.disabled_passes = disabled;
  auto s0 = Session::LoadFromMemory(bytes.data(), bytes.size(), off);
  auto s1 = Session::LoadFromMemory(bytes.data(), bytes.size(), on);
  EXPECT_TRUE(s0.ok()) << s0.status().ToString();
  EXPECT_TRUE(s1.ok()) << s1.status().ToString();
  if (!s0.ok() || !s1.ok()) return {};
  std::vector<Value> inputs;
  for (const auto& io : (*s0)->inputs()) {
    Shape shape;
    for (int64_t d : io.dims) shape.push_back(d < 0 ? 2 : d);
    Tensor t = Tensor::Allocate(DataType::kFloat32, shape).value();
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<float>()[i] = std::cos(static_cast<float>(i) * 1.3f) * 4.0f;
    inputs.emplace_back(t);
  }
  std::vector<Value> want, got;
  Status st0 = (*s0)->Run(inputs, &want);
  Status st1 = (*s1)->Run(inputs, &got);
  EXPECT_TRUE(st0.ok()) << st0.ToString();
  EXPECT_TRUE(st1.ok()) << st1.ToString();
  EXPECT_EQ(want.size(), got.size());
  for (size_t k = 0; k < want.size() && k < got.size(); ++k) {
    const Tensor& a = want[k].tensor;
    const Tensor& b = got[k].tensor;
    EXPECT_EQ(a.shape(), b.shape()) << "output " << k;
    if (a.shape() != b.shape()) continue;
    for (int64_t i = 0; i < a.numel(); ++i)
      EXPECT_NEAR(a.data<float>()[i], b.data<float>()[i],
                  1e-4f * (1 + std::fabs(a.data<float>()[i])))
          << "output " << k << " element " << i;
  }
  return {(*s1)->OpHistogram(), (*s1)->optimization_report()};
}

int Count(const Loaded& l, const std::string& pass) {
  for (const auto& p : l.report.passes)
    if (p.pass == pass) return p.count;
  return -1;
}

TEST(Passes, ShapeChainsFoldWhenTheShapeIsStatic) {
  ModelBuilder b;
  b.Input("x", kF, {2, 3, 4}).Output("y", kF, {2, 12});
  Int64Init(b, "i0", {}, {0});
  Int64Init(b, "minus1", {1}, {-1});
  Int64Init(b, "ax0", {1}, {0});
  b.Node("Shape", {"x"}, {"s"});
  b.Node("Gather", {"s", "i0"}, {"n"});
  b.Node("Unsqueeze", {"n", "ax0"}, {"n1"});
  IntAttr(b.Node("Concat", {"n1", "minus1"}, {"target"}), "axis", 0);
  b.Node("Reshape", {"x", "target"}, {"y"});
  Loaded l = LoadBoth(b.Bytes());
  EXPECT_EQ(l.ops, (std::map<std::string, int>{{"Reshape", 1}}));
  EXPECT_EQ(Count(l, "constant_folding"), 4);
  EXPECT_EQ(l.report.nodes_before, 5u);
  EXPECT_EQ(l.report.nodes_after, 1u);
}

TEST(Passes, ShapeOfASymbolicDimStays) {
  ModelBuilder b;
  b.Input("x", kF, {-1, 3}).Output("y", kF, {-1, 3});
  b.Node("Shape", {"x"}, {"s"});
  b.Node("Reshape", {"x", "s"}, {"y"});
  Loaded l = LoadBoth(b.Bytes());
  EXPECT_EQ(l.ops["Shape"], 1);
}

TEST(Passes, ConstantSubexpressionsFoldAndRandomOpsDoNot) {
  ModelBuilder b;
  b.Input("x", kF, {4}).Output("y", kF, {4}).Output("r", kF, {4});
  b.FloatInit("a", {4}, {1, 2, 3, 4}).FloatInit("c", {4}, {5, 6, 7, 8});
  b.Node("Mul", {"a", "c"}, {"ac"});
  b.Node("Sqrt", {"ac"}, {"s"});
  b.Node("Add", {"x", "s"}, {"y"});
  b.Node("RandomUniformLike", {"a"}, {"u"});
  b.Node("Mul", {"u", "x"}, {"r"});
  SessionOptions on;
  std::string bytes = b.Bytes();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size(), on);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto ops = (*s)->OpHistogram();
  EXPECT_EQ(ops["Sqrt"], 0);
  EXPECT_EQ(ops["RandomUniformLike"], 1);
  Tensor x = Tensor::FromVector<float>(DataType::kFloat32, Shape{4}, {1, 1, 1, 1});
  std::vector<Value> out;
  ASSERT_TRUE((*s)->Run({Value(x)}, &out).ok());
  EXPECT_FLOAT_EQ(out[0].tensor.data<float>()[3], 1 + std::sqrt(32.0f));
}

// ConstantOfShape of a constant shape folds when small; a 100 MB result stays a node.
TEST(Passes, FoldedConstantsAreCappedInSize) {
  for (int64_t side : {2, 5000}) {
    ModelBuilder b;
    b.Input("x", kF, {1}).Output("y", kF, {side, side});
    Int64Init(b, "shape", {2}, {side, side});
    b.Node("ConstantOfShape", {"shape"}, {"c"});
    b.Node("Add", {"c", "x"}, {"y"});
    std::string bytes = b.Bytes();
    auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ((*s)->OpHistogram()["ConstantOfShape"], side == 2 ? 0 : 1) << side;
  }
}

TEST(Passes, DeadNodesGoGraphOutputsStay) {
  ModelBuilder b;
  b.Input("x", kF, {4}).Output("y", kF, {4});
  b.Node("Relu", {"x"}, {"y"});
  b.Node("Neg", {"x"}, {"unused1"});
  b.Node("Exp", {"unused1"}, {"unused2"});
  Loaded l = LoadBoth(b.Bytes());
  EXPECT_EQ(l.ops, (std::map<std::string, int>{{"Relu", 1}}));
  EXPECT_EQ(Count(l, "dead_code"), 2);
}

// Conv -> BatchNormalization -> Mul(per channel) -> Add(per channel) -> Relu.
std::string ConvChain(const std::string& activation) {
  ModelBuilder b;
  b.Input("x", kF, {1, 2, 5, 5}).Output("y", kF, {1, 3, 5, 5});
  b.FloatInit("w", {3, 2, 3, 3}, Ramp(54, 0.5f, 0));
  b.FloatInit("bias", {3}, {0.1f, -0.2f, 0.3f});
  b.FloatInit("scale", {3}, {1.5f, 0.5f, -1});
  b.FloatInit("shift", {3}, {0.2f, 0.1f, 0});
  b.FloatInit("mean", {3}, {0.3f, -0.1f, 0.05f});
  b.FloatInit("var", {3}, {0.9f, 1.2f, 0.4f});
  b.FloatInit("k", {3, 1, 1}, {2, -1, 0.5f});
  b.FloatInit("add", {1, 3, 1, 1}, {-0.5f, 0.25f, 1});
  auto* conv = b.Node("Conv", {"x", "w", "bias"}, {"c"});
  IntsAttr(conv, "pads", {1, 1, 1, 1});
  b.Node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"bn"});
  b.Node("Mul", {"k", "bn"}, {"m"});
  b.Node("Add", {"m", "add"}, {"a"});
  b.Node(activation, {"a"}, {"y"});
  return b.Bytes();
}

TEST(Passes, ConvBatchNormMulAddFoldIntoTheWeightsAndReluFuses) {
  Loaded l = LoadBoth(ConvChain("Relu"));
  EXPECT_EQ(l.ops, (std::map<std::string, int>{{"ai.tern.FusedConv", 1}}));
  EXPECT_EQ(Count(l, "weight_folding"), 3);
  EXPECT_EQ(Count(l, "activation_fusion"), 1);
}

TEST(Passes, DisabledPassesDoNotRun) {
  Loaded l = LoadBoth(ConvChain("Sigmoid"), {"activation_fusion", "weight_folding"});
  EXPECT_EQ(l.ops["Conv"], 1);
  EXPECT_EQ(l.ops["BatchNormalization"], 1);
  EXPECT_EQ(l.ops["Sigmoid"], 1);
  EXPECT_EQ(Count(l, "weight_folding"), -1);
  SessionOptions bad;
  bad.disabled_passes = {"no_such_pass"};
  std::string bytes = ConvChain("Relu");
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size(), bad);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("no_such_pass"), std::string::npos);
}

// A (4x6) times a constant, then `activation` built by `add`.
template <typename AddActivation>
Loaded GemmWith(const std::string& op, AddActivation add) {
  ModelBuilder b(17);
  b.Input("x", kF, {4, 6}).Output("y", kF, {4, 5});
  b.FloatInit("w", {6, 5}, Ramp(30, 0.8f, 0.1f));
  b.FloatInit("c", {5}, {0.5f, -1, 0.25f, 2, 0});
  if (op == "Gemm")
    b.Node("Gemm", {"x", "w", "c"}, {"g"});
  else
    b.Node("MatMul", {"x", "w"}, {"g"});
  add(b);
  return LoadBoth(b.Bytes());
}

TEST(Passes, GemmAndMatMulActivationsFuse) {
  struct Case {
    std::string op, act;
    float alpha = -1;
  };
  for (const Case& c :
       {Case{"Gemm", "LeakyRelu", 0.2f}, Case{"MatMul", "Sigmoid"}, Case{"Gemm", "Tanh"},
        Case{"MatMul", "HardSigmoid", 0.3f}, Case{"MatMul", "HardSwish"}}) {
    SCOPED_TRACE(c.op + "+" + c.act);
    Loaded l = GemmWith(c.op, [&](ModelBuilder& b) {
      auto* n = b.Node(c.act, {"g"}, {"y"});
      if (c.alpha >= 0) FloatAttr(n, "alpha", c.alpha);
    });
    EXPECT_EQ(l.ops, (std::map<std::string, int>{{"ai.tern.Fused" + c.op, 1}}));
  }
}

TEST(Passes, ClipWithConstantBoundsFuses) {
  Loaded l = GemmWith("Gemm", [](ModelBuilder& b) {
    b.FloatInit("lo", {}, {-0.5f}).FloatInit("hi", {}, {1.5f});
    b.Node("Clip", {"g", "lo", "hi"}, {"y"});
  });
  EXPECT_EQ(l.ops, (std::map<std::string, int>{{"ai.tern.FusedGemm", 1}}));
}

TEST(Passes, SpelledOutHardSwishFuses) {
  auto common = [](ModelBuilder& b) {
    b.FloatInit("three", {}, {3}).FloatInit("zero", {}, {0}).FloatInit("six", {}, {6});
    b.FloatInit("sixth", {}, {1.0f / 6});
    b.Node("Add", {"g", "three"}, {"a"});
    b.Node("Clip", {"a", "zero", "six"}, {"cl"});
  };
  Loaded div = GemmWith("MatMul", [&](ModelBuilder& b) {
    common(b);
    b.Node("Div", {"cl", "six"}, {"d"});
    b.Node("Mul", {"g", "d"}, {"y"});
  });
  EXPECT_EQ(div.ops, (std::map<std::string, int>{{"ai.tern.FusedMatMul", 1}}));
  Loaded mul_last = GemmWith("MatMul", [&](ModelBuilder& b) {
    common(b);
    b.Node("Mul", {"g", "cl"}, {"p"});
    b.Node("Div", {"p", "six"}, {"y"});
  });
  EXPECT_EQ(mul_last.ops, (std::map<std::string, int>{{"ai.tern.FusedMatMul", 1}}));
  Loaded sixth = GemmWith("MatMul", [&](ModelBuilder& b) {
    common(b);
    b.Node("Mul", {"cl", "sixth"}, {"d"});
    b.Node("Mul", {"d", "g"}, {"y"});
  });
  EXPECT_EQ(sixth.ops, (std::map<std::string, int>{{"ai.tern.FusedMatMul", 1}}));
  Loaded hsig = GemmWith("MatMul", [&](ModelBuilder& b) {
    auto* n = b.Node("HardSigmoid", {"g"}, {"h"});
    FloatAttr(n, "alpha", 1.0f / 6);
    b.Node("Mul", {"g", "h"}, {"y"});
  });
  EXPECT_EQ(hsig.ops, (std::map<std::string, int>{{"ai.tern.FusedMatMul", 1}}));
  Loaded wrong_bound = GemmWith("MatMul", [&](ModelBuilder& b) {
    b.FloatInit("three", {}, {3}).FloatInit("zero", {}, {0}).FloatInit("five", {}, {5});
    b.Node("Add", {"g", "three"}, {"a"});
    b.Node("Clip", {"a", "zero", "five"}, {"cl"});
    b.Node("Mul", {"g", "cl"}, {"y"});
  });
  EXPECT_EQ(wrong_bound.ops["ai.tern.FusedMatMul"], 0);
}

TEST(Passes, NoFusionWhenTheIntermediateIsReadTwiceOrIsAnOutput) {
  ModelBuilder b;
  b.Input("x", kF, {4, 6}).Output("y", kF, {4, 5}).Output("g", kF, {4, 5});
  b.FloatInit("w", {6, 5}, Ramp(30, 0.8f, 0.1f));
  b.Node("MatMul", {"x", "w"}, {"g"});
  b.Node("Relu", {"g"}, {"y"});
  Loaded l = LoadBoth(b.Bytes());
  EXPECT_EQ(l.ops["MatMul"], 1);
  ModelBuilder b2;
  b2.Input("x", kF, {4, 6}).Output("y", kF, {4, 5}).Output("z", kF, {4, 5});
  b2.FloatInit("w", {6, 5}, Ramp(30, 0.8f, 0.1f));
  b2.Node("MatMul", {"x", "w"}, {"g"});
  b2.Node("Relu", {"g"}, {"y"});
  b2.Node("Neg", {"g"}, {"z"});
  Loaded l2 = LoadBoth(b2.Bytes());
  EXPECT_EQ(l2.ops["MatMul"], 1);
}

TEST(Passes, TransposesCancelAndCompose) {
  ModelBuilder b;
  b.Input("x", kF, {2, 3, 4}).Output("y", kF, {2, 3, 4}).Output("z", kF, {4, 2, 3});
  IntsAttr(b.Node("Transpose", {"x"}, {"t1"}), "perm", {1, 2, 0});
  IntsAttr(b.Node("Transpose", {"t1"}, {"t2"}), "perm", {2, 0, 1});
  b.Node("Relu", {"t2"}, {"y"});
  IntsAttr(b.Node("Transpose", {"x"}, {"u1"}), "perm", {1, 0, 2});
  IntsAttr(b.Node("Transpose", {"u1"}, {"z"}), "perm", {2, 1, 0});
  Loaded l = LoadBoth(b.Bytes());
  EXPECT_EQ(l.ops, (std::map<std::string, int>{{"Relu", 1}, {"Transpose", 1}}));
}

TEST(Passes, ReshapeChainsSqueezePairsAndIdentitiesGo) {
  ModelBuilder b;
  b.Input("x", kF, {2, 1, 6}).Output("y", kF, {3, 4}).Output("z", kF, {2, 1, 6});
  Int64Init(b, "s1", {2}, {6, 2});
  Int64Init(b, "s2", {2}, {3, 4});
  Int64Init(b, "ax", {1}, {1});
  b.Node("Reshape", {"x", "s1"}, {"r1"});
  b.Node("Reshape", {"r1", "s2"}, {"r2"});
  b.Node("Identity", {"r2"}, {"y"});
  b.Node("Squeeze", {"x", "ax"}, {"q"});
  b.Node("Unsqueeze", {"q", "ax"}, {"uq"});
  b.Node("Identity", {"uq"}, {"z"});
  Loaded l = LoadBoth(b.Bytes());
  // z = x reshaped to its own shape stays: a graph input cannot be renamed into an output.
  EXPECT_EQ(l.ops, (std::map<std::string, int>{{"Reshape", 2}}));
}

TEST(Passes, FusedConvRejectsBadActivationParams) {
  ModelBuilder b;
  auto* os = b.model().add_opset_import();
  os->set_domain("ai.tern");
  os->set_version(1);
  b.Input("x", kF, {1, 1, 3, 3}).Output("y", kF, {1, 1, 3, 3});
  b.FloatInit("w", {1, 1, 1, 1}, {2});
  auto* n = b.Node("FusedConv", {"x", "w"}, {"y"});
  n->set_domain("ai.tern");
  auto* a = n->add_attribute();
  a->set_name("activation");
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s("Clip");
  std::string bytes = b.Bytes();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  EXPECT_FALSE(s.ok());
  auto* p = n->add_attribute();
  p->set_name("activation_params");
  p->set_type(::onnx::AttributeProto::FLOATS);
  p->add_floats(0);
  p->add_floats(3);
  bytes = b.Bytes();
  s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Tensor x = Tensor::FromVector<float>(DataType::kFloat32, Shape{1, 1, 3, 3},
                                       {-1, 0, 0.5f, 1, 1.5f, 2, 3, -4, 0.25f});
  std::vector<Value> out;
  ASSERT_TRUE((*s)->Run({Value(x)}, &out).ok());
  const float want[] = {0, 0, 1, 2, 3, 3, 3, 0, 0.5f};
  for (int i = 0; i < 9; ++i) EXPECT_FLOAT_EQ(out[0].tensor.data<float>()[i], want[i]) << i;
}

}  // namespace
}  // namespace tern

namespace tern {
namespace {

// A branch that re-lays out a weight of the enclosing graph (as exporters do for LSTM gates)
// folds at load: the outer initializer becomes a constant of the branch.
TEST(Passes, BranchNodesReadingOuterConstantsFold) {
  auto branch = [](const std::string& name, bool slice) {
    ModelBuilder sb;
    sb.graph()->set_name(name);
    if (slice) {
      sb.Node("Slice", {"w", "s0", "s1"}, {"ws"});
      sb.Node("Add", {"x", "ws"}, {"out_" + name});
    } else {
      sb.Node("Neg", {"x"}, {"out_" + name});
    }
    auto* vi = sb.graph()->add_output();
    vi->set_name("out_" + name);
    ModelBuilder::SetType(vi, kF, {4});
    return *sb.graph();
  };
  ModelBuilder b;
  b.Input("x", kF, {4}).Output("y", kF, {4});
  b.FloatInit("w", {6}, Ramp(6, 1.0f, 0.5f));
  Int64Init(b, "s0", {1}, {1});
  Int64Init(b, "s1", {1}, {5});
  auto* c = b.graph()->add_initializer();
  c->set_name("c");
  c->set_data_type(::onnx::TensorProto::BOOL);
  c->add_int32_data(1);
  auto* n = b.Node("If", {"c"}, {"y"});
  for (const char* attr : {"then_branch", "else_branch"}) {
    auto* a = n->add_attribute();
    a->set_name(attr);
    a->set_type(::onnx::AttributeProto::GRAPH);
    *a->mutable_g() = branch(attr, std::string(attr) == "then_branch");
  }
  Loaded l = LoadBoth(b.Bytes());
  EXPECT_EQ(l.ops.count("Slice"), 0u) << "the Slice of an outer initializer did not fold";
  EXPECT_GE(Count(l, "constant_folding"), 1);
}

}  // namespace
}  // namespace tern
