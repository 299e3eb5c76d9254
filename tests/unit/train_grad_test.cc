// Numerical gradient checks for every op with a backward rule (see train_grad_util.h).
#include "train_grad_util.h"

namespace tern::test {
namespace {

using train::FloatAttr;
using train::IntAttr;

ir::Attribute Ints(const std::string& name, std::vector<int64_t> v) {
  ir::Attribute a;
  a.name = name;
  a.type = ir::AttrType::kInts;
  a.ints = std::move(v);
  return a;
}

Tensor Int64s(const std::vector<int64_t>& shape, const std::vector<int64_t>& v) {
  return Tensor::FromVector<int64_t>(DataType::kInt64, Shape(shape), v);
}

TEST(TrainGrad, GemmWithBroadcastBias) {
  GradGraph g;
  int y = g.Node1("Gemm", {g.Param("a", {3, 4}), g.Param("b", {4, 5}), g.Param("c", {5})});
  EXPECT_EQ(CheckGradients(g, y), 12 + 20 + 5);
}

TEST(TrainGrad, GemmTransposedAlphaBeta) {
  GradGraph g;
  int y = g.Node1("Gemm", {g.Param("a", {4, 3}), g.Param("b", {5, 4}), g.Param("c", {3, 1})},
                  {IntAttr("transA", 1), IntAttr("transB", 1), FloatAttr("alpha", 0.7f),
                   FloatAttr("beta", -1.5f)});
  EXPECT_EQ(CheckGradients(g, y), 12 + 20 + 3);
}

TEST(TrainGrad, MatMul2D) {
  GradGraph g;
  int y = g.Node1("MatMul", {g.Param("a", {3, 4}), g.Param("b", {4, 2})});
  EXPECT_EQ(CheckGradients(g, y), 12 + 8);
}

TEST(TrainGrad, MatMulBatchedBroadcast) {
  GradGraph g;
  int y = g.Node1("MatMul", {g.Param("a", {2, 3, 4}), g.Param("b", {4, 5})});
  EXPECT_EQ(CheckGradients(g, y), 24 + 20);
}

TEST(TrainGrad, ConvStridesPadsBias) {
  GradGraph g;
  int y =
      g.Node1("Conv", {g.Param("x", {2, 3, 7, 6}), g.Param("w", {4, 3, 3, 3}), g.Param("b", {4})},
              {Ints("strides", {2, 1}), Ints("pads", {1, 0, 1, 2})});
  EXPECT_EQ(CheckGradients(g, y), 2 * 3 * 42 + 4 * 27 + 4);
}

TEST(TrainGrad, ConvGroupedDilated) {
  GradGraph g;
  int y = g.Node1("Conv", {g.Param("x", {1, 4, 6, 5}), g.Param("w", {6, 2, 2, 2})},
                  {IntAttr("group", 2), Ints("dilations", {2, 1}), Ints("pads", {1, 1, 1, 1})});
  EXPECT_EQ(CheckGradients(g, y), 120 + 48);
}

TEST(TrainGrad, ConvDepthwise) {
  GradGraph g;
  int y =
      g.Node1("Conv", {g.Param("x", {2, 3, 5, 5}), g.Param("w", {3, 1, 3, 3}), g.Param("b", {3})},
              {IntAttr("group", 3), Ints("pads", {1, 1, 1, 1})});
  EXPECT_EQ(CheckGradients(g, y), 150 + 27 + 3);
}

TEST(TrainGrad, Conv1D) {
  GradGraph g;
  int y =
      g.Node1("Conv", {g.Param("x", {2, 2, 9}), g.Param("w", {3, 2, 3})}, {Ints("strides", {2})});
  EXPECT_EQ(CheckGradients(g, y), 36 + 18);
}

TEST(TrainGrad, Activations) {
  for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "Tanh"}) {
    SCOPED_TRACE(op);
    GradGraph g;
    std::vector<ir::Attribute> attrs;
    if (std::string(op) == "LeakyRelu") attrs.push_back(FloatAttr("alpha", 0.2f));
    int y = g.Node1(op, {g.Param("x", {3, 4})}, attrs);
    EXPECT_EQ(CheckGradients(g, y), 12);
  }
}

TEST(TrainGrad, ArithmeticWithBroadcasting) {
  for (const char* op : {"Add", "Sub", "Mul", "Div"}) {
    SCOPED_TRACE(op);
    GradGraph g;
    // B is broadcast over the leading dim and the last dim; kept away from 0 for Div.
    int y = g.Node1(op, {g.Param("a", {2, 3, 4}), g.Param("b", {3, 1}, 0.5, 1.5)});
    EXPECT_EQ(CheckGradients(g, y), 24 + 3);
  }
}

TEST(TrainGrad, SharedValueAccumulates) {
  GradGraph g;
  int x = g.Param("x", {2, 3});
  int y = g.Node1("Mul", {x, x});
  int z = g.Node1("Add", {y, x});
  EXPECT_EQ(CheckGradients(g, z), 6);
}

TEST(TrainGrad, MaxPoolPadsStrides) {
  GradGraph g;
  int y = g.Node1(
      "MaxPool", {g.Param("x", {2, 2, 6, 7})},
      {Ints("kernel_shape", {3, 3}), Ints("strides", {2, 2}), Ints("pads", {1, 1, 1, 1})}, 12);
  EXPECT_EQ(CheckGradients(g, y), 168);
}

TEST(TrainGrad, MaxPoolCeilMode) {
  GradGraph g;
  int y =
      g.Node1("MaxPool", {g.Param("x", {1, 2, 5, 5})},
              {Ints("kernel_shape", {2, 2}), Ints("strides", {2, 2}), IntAttr("ceil_mode", 1)}, 12);
  EXPECT_EQ(CheckGradients(g, y), 50);
}

TEST(TrainGrad, AveragePool) {
  for (int include_pad : {0, 1}) {
    SCOPED_TRACE(include_pad);
    GradGraph g;
    int y = g.Node1("AveragePool", {g.Param("x", {2, 2, 5, 6})},
                    {Ints("kernel_shape", {3, 2}), Ints("strides", {2, 2}),
                     Ints("pads", {1, 0, 1, 1}), IntAttr("count_include_pad", include_pad)},
                    11);
    EXPECT_EQ(CheckGradients(g, y), 120);
  }
}

TEST(TrainGrad, GlobalAveragePool) {
  GradGraph g;
  int y = g.Node1("GlobalAveragePool", {g.Param("x", {2, 3, 4, 5})});
  EXPECT_EQ(CheckGradients(g, y), 120);
}

TEST(TrainGrad, FlattenAndReshape) {
  GradGraph g;
  int f = g.Node1("Flatten", {g.Param("x", {2, 3, 2, 2})}, {IntAttr("axis", 2)});
  int r = g.Node1("Reshape", {f, g.Const("shape", Int64s({2}, {4, -1}))});
  int y = g.Node1("Tanh", {r});
  EXPECT_EQ(CheckGradients(g, y), 24);
}

TEST(TrainGrad, Concat) {
  GradGraph g;
  int y = g.Node1("Concat", {g.Param("a", {2, 3}), g.Param("b", {2, 1}), g.Param("c", {2, 2})},
                  {IntAttr("axis", -1)});
  EXPECT_EQ(CheckGradients(g, y), 12);
}

TEST(TrainGrad, BatchNormTraining) {
  GradGraph g;
  int y = g.Node1("BatchNormalization",
                  {g.Param("x", {4, 3, 2, 2}), g.Param("scale", {3}), g.Param("bias", {3}),
                   g.Param("mean", {3}), g.Param("var", {3}, 0.5, 1.5)},
                  {FloatAttr("epsilon", 1e-3f)}, 15);
  EXPECT_EQ(CheckGradients(g, y), 48 + 6);
}

TEST(TrainGrad, BatchNormFrozen) {
  GradGraph g;
  int y = g.Node1("BatchNormalization",
                  {g.Param("x", {4, 3, 3}), g.Param("scale", {3}), g.Param("bias", {3}),
                   g.Param("mean", {3}), g.Param("var", {3}, 0.5, 1.5)},
                  {}, 15);
  train::TrainingGraphOptions opt;
  opt.batch_norm_training = false;
  EXPECT_EQ(CheckGradients(g, y, false, opt), 36 + 6);
}

TEST(TrainGrad, DropoutTraining) {
  GradGraph g;
  ir::Attribute seed = IntAttr("seed", 7);
  int y = g.Node1("Dropout", {g.Param("x", {4, 5})}, {seed, FloatAttr("ratio", 0.3f)}, 10);
  EXPECT_EQ(CheckGradients(g, y), 20);
}

TEST(TrainGrad, SoftmaxAndLogSoftmax) {
  for (int opset : {11, 13})
    for (const char* op : {"Softmax", "LogSoftmax"}) {
      SCOPED_TRACE(std::string(op) + " opset " + std::to_string(opset));
      GradGraph g;
      int y = g.Node1(op, {g.Param("x", {2, 3, 4})}, {IntAttr("axis", 1)}, opset);
      EXPECT_EQ(CheckGradients(g, y), 24);
    }
}

TEST(TrainGrad, SoftmaxCrossEntropyLoss) {
  GradGraph g;
  int loss = g.Node1("SoftmaxCrossEntropyLoss",
                     {g.Param("scores", {4, 5}), g.Const("labels", Int64s({4}, {0, 3, 4, 1}))});
  EXPECT_EQ(CheckGradients(g, loss, true), 20);
}

TEST(TrainGrad, SoftmaxCrossEntropyLossSpatialWeightedIgnore) {
  for (const char* reduction : {"mean", "sum"}) {
    SCOPED_TRACE(reduction);
    GradGraph g;
    ir::Attribute red;
    red.name = "reduction";
    red.type = ir::AttrType::kString;
    red.s = reduction;
    int w = g.Const("w", Tensor::FromVector<double>(DataType::kFloat64, Shape{3}, {0.5, 2, 1}));
    int loss = g.Node1("SoftmaxCrossEntropyLoss",
                       {g.Param("scores", {2, 3, 4}),
                        g.Const("labels", Int64s({2, 4}, {0, 2, 1, -1, 2, 2, -1, 0})), w},
                       {red, IntAttr("ignore_index", -1)});
    EXPECT_EQ(CheckGradients(g, loss, true), 24);
  }
}

TEST(TrainGrad, SmallCnnEndToEnd) {
  GradGraph g;
  int c =
      g.Node1("Conv", {g.Param("x", {2, 1, 6, 6}), g.Param("w", {2, 1, 3, 3}), g.Param("b", {2})},
              {Ints("pads", {1, 1, 1, 1})});
  int r = g.Node1("Relu", {c});
  int p = g.Node1("MaxPool", {r}, {Ints("kernel_shape", {2, 2}), Ints("strides", {2, 2})}, 12);
  int f = g.Node1("Flatten", {p});
  int y = g.Node1("Gemm", {f, g.Param("fc", {3, 18}), g.Param("fcb", {3})}, {IntAttr("transB", 1)});
  int loss = g.Node1("SoftmaxCrossEntropyLoss", {y, g.Const("labels", Int64s({2}, {2, 0}))});
  EXPECT_EQ(CheckGradients(g, loss, true), 72 + 18 + 2 + 54 + 3);
}

TEST(TrainGrad, UnsupportedOpIsAnError) {
  GradGraph g;
  int y = g.Node1("Erf", {g.Param("x", {3})});
  g.graph().outputs = {y};
  int dummy = g.graph().AddValue("data");
  g.graph().values[dummy].is_input = true;
  g.graph().inputs.push_back(dummy);
  train::TrainingGraphOptions opt;
  opt.loss = train::LossKind::kMeanSquaredError;
  opt.trainable = {"x"};
  auto tg = train::BuildTrainingGraph(g.graph(), opt);
  ASSERT_FALSE(tg.ok());
  EXPECT_EQ(tg.status().code(), StatusCode::kNotImplemented);
  EXPECT_NE(tg.status().message().find("Erf"), std::string::npos) << tg.status().message();
}

}  // namespace
}  // namespace tern::test
