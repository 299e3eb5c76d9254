// Static type and shape inference with symbolic dims.
#include <gtest/gtest.h>

#include "ir/infer.h"
#include "model_builder.h"
#include "onnx/onnx_import.h"

namespace tern {
namespace {

using test::ModelBuilder;
constexpr int32_t kF = ::onnx::TensorProto::FLOAT;

std::string TypeOf(const ir::Model& m, const std::string& name) {
  int v = m.graph->FindValue(name);
  return v < 0 ? "missing" : m.graph->values[v].type.ToString();
}

TEST(Infer, SymbolicBatchThroughAConvNet) {
  ModelBuilder b;
  b.Input("x", kF, {-1, 3, 32, 32}).Output("y", kF, {-1, 10});
  b.FloatInit("w", {8, 3, 3, 3}, std::vector<float>(8 * 3 * 9, 0.1f));
  b.FloatInit("fc", {10, 8 * 16 * 16}, std::vector<float>(10 * 8 * 256, 0.1f));
  auto* conv = b.Node("Conv", {"x", "w"}, {"c"});
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(::onnx::AttributeProto::INTS);
  for (int i = 0; i < 4; ++i) pads->add_ints(1);
  b.Node("Relu", {"c"}, {"r"});
  auto* pool = b.Node("MaxPool", {"r"}, {"p"});
  auto* ks = pool->add_attribute();
  ks->set_name("kernel_shape");
  ks->set_type(::onnx::AttributeProto::INTS);
  ks->add_ints(2);
  ks->add_ints(2);
  auto* st = pool->add_attribute();
  st->set_name("strides");
  st->set_type(::onnx::AttributeProto::INTS);
  st->add_ints(2);
  st->add_ints(2);
  b.Node("Flatten", {"p"}, {"f"});
  auto* gemm = b.Node("Gemm", {"f", "fc"}, {"y"});
  auto* tb = gemm->add_attribute();
  tb->set_name("transB");
  tb->set_type(::onnx::AttributeProto::INT);
  tb->set_i(1);
  b.Node("Shape", {"p"}, {"s"});
  b.Node("Equal", {"x", "x"}, {"eq"});
  std::string bytes = b.Bytes();
  onnx::ImportOptions opts;
  auto m = onnx::ImportModel(bytes.data(), bytes.size(), opts);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ir::InferStats stats = ir::InferTypes(*m->graph);
  EXPECT_EQ(TypeOf(*m, "c"), "float32[d0,8,32,32]");
  EXPECT_EQ(TypeOf(*m, "r"), "float32[d0,8,32,32]");
  EXPECT_EQ(TypeOf(*m, "p"), "float32[d0,8,16,16]");
  EXPECT_EQ(TypeOf(*m, "f"), "float32[?,2048]");
  EXPECT_EQ(TypeOf(*m, "y"), "float32[?,10]");
  EXPECT_EQ(TypeOf(*m, "s"), "int64[4]");
  EXPECT_EQ(TypeOf(*m, "eq"), "bool[d0,3,32,32]");
  EXPECT_EQ(stats.values, 7);
  EXPECT_EQ(stats.shaped, 7);
}

TEST(Infer, UnknownOpsLeaveShapesUnknownWithoutFailing) {
  ModelBuilder b;
  b.Input("x", kF, {2, 3}).Output("y", kF, {2, 3}, false);
  b.Node("NonZero", {"x"}, {"nz"});
  b.Node("Identity", {"x"}, {"y"});
  std::string bytes = b.Bytes();
  onnx::ImportOptions opts;
  auto m = onnx::ImportModel(bytes.data(), bytes.size(), opts);
  ASSERT_TRUE(m.ok());
  ir::InferTypes(*m->graph);
  EXPECT_EQ(TypeOf(*m, "nz"), "?");
  EXPECT_EQ(TypeOf(*m, "y"), "float32[2,3]");
}

}  // namespace
}  // namespace tern
