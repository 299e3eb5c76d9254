// The partitioner: nodes go to the first provider that can run them, with a recorded reason;
// strict mode refuses to fall back.
#include <gtest/gtest.h>

#include "exec/executor.h"
#include "model_builder.h"
#include "onnx/onnx_import.h"

namespace tern {
namespace {

using test::ModelBuilder;
constexpr int32_t kF = ::onnx::TensorProto::FLOAT;

/// A provider that only runs Add (by delegating to ref) and says why it refuses the rest.
class AddOnlyProvider : public ExecutionProvider {
 public:
  const char* name() const override { return "addonly"; }
  Result<std::unique_ptr<OpKernel>> CreateKernel(const KernelInfo& info) const override {
    if (info.node().op_type != "Add") return NotImplemented("only Add is supported here");
    return ref_->CreateKernel(info);
  }
  std::shared_ptr<ExecutionProvider> ref_ = MakeProvider("ref").value();
};

ir::Model Import(const std::string& bytes) {
  onnx::ImportOptions o;
  return onnx::ImportModel(bytes.data(), bytes.size(), o).value();
}

std::string AddMulModel() {
  ModelBuilder b;
  b.Input("x", kF, {2}).Output("y", kF, {2});
  b.Node("Add", {"x", "x"}, {"a"}, "add");
  b.Node("Mul", {"a", "x"}, {"y"}, "mul");
  return b.Bytes();
}

TEST(Partitioner, FallsBackWithAReason) {
  ir::Model m = Import(AddMulModel());
  std::vector<NodePlacement> placements;
  ExecConfig config;
  config.providers = {std::make_shared<AddOnlyProvider>(), MakeProvider("ref").value()};
  config.placements = &placements;
  auto ex = Executor::Create(*m.graph, config);
  ASSERT_TRUE(ex.ok()) << ex.status().ToString();
  ASSERT_EQ(placements.size(), 2u);
  EXPECT_EQ(placements[0].node_name, "add");
  EXPECT_EQ(placements[0].provider, "addonly");
  EXPECT_EQ(placements[0].reason, "preferred provider");
  EXPECT_EQ(placements[1].provider, "ref");
  EXPECT_NE(placements[1].reason.find("only Add is supported here"), std::string::npos)
      << placements[1].reason;

  Tensor x = Tensor::FromVector(DataType::kFloat32, Shape{2}, std::vector<float>{1, 2});
  Value xv(x);
  std::vector<Value> out;
  ASSERT_TRUE((*ex)->Run({&xv}, {}, &out).ok());
  EXPECT_EQ(out[0].tensor.data<float>()[1], 8.0f);  // (2 + 2) * 2
}

TEST(Partitioner, StrictModeRefusesToFallBack) {
  ir::Model m = Import(AddMulModel());
  ExecConfig config;
  config.providers = {std::make_shared<AddOnlyProvider>(), MakeProvider("ref").value()};
  config.strict = true;
  auto ex = Executor::Create(*m.graph, config);
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(ex.status().message().find("mul"), std::string::npos) << ex.status().message();
  EXPECT_NE(ex.status().message().find("addonly"), std::string::npos);
}

TEST(Partitioner, NoProviderCanRunItListsEveryReason) {
  ModelBuilder b;
  b.Input("x", kF, {2}).Output("y", kF, {2});
  b.Node("Relu", {"x"}, {"y"}, "relu");
  ir::Model m = Import(b.Bytes());
  ExecConfig config;
  config.providers = {std::make_shared<AddOnlyProvider>()};
  auto ex = Executor::Create(*m.graph, config);
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().code(), StatusCode::kNotImplemented);
  EXPECT_NE(ex.status().message().find("addonly: only Add"), std::string::npos)
      << ex.status().message();
}

}  // namespace
}  // namespace tern
