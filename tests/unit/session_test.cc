// Session and executor behaviour: memory plans, re-planning on new shapes, concurrency,
// provider fallback and strict mode, input checks.
#include <gtest/gtest.h>

#include <thread>

#include "model_builder.h"
#include "planner/memory_plan.h"
#include "tern/session.h"

namespace tern {
namespace {

using test::ModelBuilder;
constexpr int32_t kF = ::onnx::TensorProto::FLOAT;

// y = ((x + x) * x - x) + w : a chain whose intermediates the plan can overlap.
std::string ChainModel() {
  ModelBuilder b;
  b.Input("x", kF, {-1, 4}).Output("y", kF, {-1, 4});
  b.FloatInit("w", {4}, {1, 2, 3, 4});
  b.Node("Add", {"x", "x"}, {"a"});
  b.Node("Mul", {"a", "x"}, {"m"});
  b.Node("Sub", {"m", "x"}, {"s"});
  b.Node("Identity", {"s"}, {"s2"});
  b.Node("Add", {"s2", "w"}, {"y"});
  return b.Bytes();
}

Tensor Floats(const Shape& shape, float start) {
  Tensor t = Tensor::Allocate(DataType::kFloat32, shape).value();
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

float Expected(float x, int64_t col) { return (x + x) * x - x + static_cast<float>(col + 1); }

void CheckChain(const Tensor& x, const Tensor& y) {
  ASSERT_EQ(y.shape(), x.shape());
  for (int64_t i = 0; i < x.numel(); ++i)
    EXPECT_FLOAT_EQ(y.data<float>()[i], Expected(x.data<float>()[i], i % 4)) << i;
}

TEST(Session, RunsAndReusesTheMemoryPlan) {
  std::string bytes = ChainModel();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Tensor x = Floats({3, 4}, 1);
  std::vector<Value> out;
  RunStats stats;
  ASSERT_TRUE((*s)->Run({Value(x)}, &out, &stats).ok());
  EXPECT_FALSE(stats.planned);  // first run for this shape records
  CheckChain(x, out[0].tensor);
  ASSERT_TRUE((*s)->Run({Value(x)}, &out, &stats).ok());
  EXPECT_TRUE(stats.planned);
  EXPECT_GT(stats.arena_bytes, 0u);
  // Intermediates are 48 bytes each (64 aligned); at most two are alive at once, and the graph
  // output stays out of the arena.
  EXPECT_LE(stats.arena_bytes, 128u);
  EXPECT_EQ(stats.dynamic_bytes, 48u);  // only the output
  CheckChain(x, out[0].tensor);
}

TEST(Session, ReplansWhenInputShapesChange) {
  std::string bytes = ChainModel();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok());
  std::vector<Value> out;
  RunStats stats;
  for (int64_t rows : {1, 5, 2, 5, 1, 64}) {
    Tensor x = Floats({rows, 4}, static_cast<float>(rows));
    ASSERT_TRUE((*s)->Run({Value(x)}, &out, &stats).ok());
    CheckChain(x, out[0].tensor);
    ASSERT_TRUE((*s)->Run({Value(x)}, &out, &stats).ok());
    EXPECT_TRUE(stats.planned);
    CheckChain(x, out[0].tensor);
  }
  EXPECT_GE((*s)->peak_arena_bytes(), 2u * 64 * 4 * 4);
}

TEST(Session, OutputsDoNotAliasTheArenaOrInputs) {
  std::string bytes = ChainModel();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok());
  Tensor x = Floats({2, 4}, 0);
  std::vector<Value> first, second;
  ASSERT_TRUE((*s)->Run({Value(x)}, &first).ok());
  ASSERT_TRUE((*s)->Run({Value(x)}, &first).ok());
  Tensor keep = first[0].tensor;
  Tensor x2 = Floats({2, 4}, 100);
  ASSERT_TRUE((*s)->Run({Value(x2)}, &second).ok());
  CheckChain(x, keep);  // the earlier output survived the later run
  CheckChain(x2, second[0].tensor);
}

TEST(Session, ConcurrentRunsFromSeveralThreads) {
  std::string bytes = ChainModel();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        int64_t rows = 1 + (t + i) % 3;
        Tensor x = Floats({rows, 4}, static_cast<float>(t * 1000 + i));
        std::vector<Value> out;
        if (!(*s)->Run({Value(x)}, &out).ok()) {
          ++failures;
          continue;
        }
        for (int64_t k = 0; k < x.numel(); ++k)
          if (out[0].tensor.data<float>()[k] != Expected(x.data<float>()[k], k % 4)) ++failures;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Session, ChecksInputs) {
  std::string bytes = ChainModel();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok());
  std::vector<Value> out;
  Status st = (*s)->Run({Value(Floats({2, 5}, 0))}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("'x'"), std::string::npos) << st.message();
  Tensor ints = Tensor::Allocate(DataType::kInt64, Shape{2, 4}).value();
  st = (*s)->Run({Value(ints)}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("int64"), std::string::npos) << st.message();
  st = (*s)->Run(std::vector<Value>{}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  st = (*s)->Run(std::map<std::string, Value>{{"nope", Value(Floats({1, 4}, 0))}}, &out);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

TEST(Session, WrapsCallerMemoryWithoutCopy) {
  std::string bytes = ChainModel();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(s.ok());
  std::vector<float> data = {1, 2, 3, 4, 5, 6, 7, 8};
  Tensor x = Tensor::Wrap(DataType::kFloat32, Shape{2, 4}, data.data());
  std::vector<Value> out;
  ASSERT_TRUE((*s)->Run({Value(x)}, &out).ok());
  CheckChain(x, out[0].tensor);
  EXPECT_NE(out[0].tensor.raw(), data.data());
}

TEST(Session, PlacementRecordsProviderAndReason) {
  std::string bytes = ChainModel();
  SessionOptions o;
  o.providers = {"ref"};
  o.optimization_level = 0;  // keep the Identity: one placement per node of the model
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size(), o);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ((*s)->placements().size(), 5u);
  for (const auto& p : (*s)->placements()) {
    EXPECT_EQ(p.provider, "ref");
    EXPECT_FALSE(p.reason.empty());
  }
  o.providers = {"nonexistent"};
  EXPECT_FALSE(Session::LoadFromMemory(bytes.data(), bytes.size(), o).ok());
}

TEST(Session, UnknownOpIsReportedByName) {
  ModelBuilder b;
  b.Input("x", kF, {2}).Output("y", kF, {2});
  b.Node("FrobnicateV2", {"x"}, {"y"});
  std::string bytes = b.Bytes();
  auto s = Session::LoadFromMemory(bytes.data(), bytes.size());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotImplemented);
  EXPECT_NE(s.status().message().find("FrobnicateV2"), std::string::npos);
}

TEST(Session, UnusedImportedDomainIsIgnored) {
  ModelBuilder b;
  auto* os = b.model().add_opset_import();
  os->set_domain("com.example.unused");
  os->set_version(3);
  b.Input("x", kF, {2}).Output("y", kF, {2});
  b.Node("Identity", {"x"}, {"y"});
  std::string bytes = b.Bytes();
  EXPECT_TRUE(Session::LoadFromMemory(bytes.data(), bytes.size()).ok());
}

TEST(Planner, ReusesMemoryOfDeadBuffers) {
  // a:[0,1] b:[1,2] c:[2,3]: a and c can share.
  auto layout = planner::PlanArena({{100, 0, 1}, {100, 1, 2}, {100, 2, 3}});
  EXPECT_EQ(layout.arena_bytes, 256u);
  EXPECT_EQ(layout.offsets[0], layout.offsets[2]);
  EXPECT_NE(layout.offsets[0], layout.offsets[1]);
}

TEST(Planner, NeverOverlapsLiveBuffers) {
  std::vector<planner::BufferRequest> reqs;
  for (int i = 0; i < 200; ++i)
    reqs.push_back({static_cast<uint64_t>(1 + (i * 37) % 500), i % 17, i % 17 + (i * 7) % 9});
  auto layout = planner::PlanArena(reqs);
  for (size_t i = 0; i < reqs.size(); ++i)
    for (size_t j = i + 1; j < reqs.size(); ++j) {
      bool time = !(reqs[i].last_step < reqs[j].first_step || reqs[j].last_step < reqs[i].first_step);
      bool space = layout.offsets[i] < layout.offsets[j] + reqs[j].bytes &&
                   layout.offsets[j] < layout.offsets[i] + reqs[i].bytes;
      EXPECT_FALSE(time && space) << i << " " << j;
    }
}

}  // namespace
}  // namespace tern
