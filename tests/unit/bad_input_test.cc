// Hostile and broken models and inputs: each must give a non-OK Status with a clear message —
// never a crash, a hang or an unbounded allocation.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "fuzz_bodies.h"
#include "proto_builders.h"
#include "tern/session.h"

// Under ASan an allocation the allocator cannot serve aborts unless it may return null; the
// tests below check that such failures come back as ResourceExhausted. (No effect without ASan.)
extern "C" const char* __asan_default_options() { return "allocator_may_return_null=1"; }

namespace {

using namespace tern::testing;  // NOLINT
using ::onnx::ModelProto;
using ::onnx::TensorProto;
using tern::DataType;
using tern::Session;
using tern::SessionOptions;
using tern::Shape;
using tern::StatusCode;
using tern::Tensor;
using tern::Value;
namespace fs = std::filesystem;

SessionOptions Opts() {
  SessionOptions o;
  o.threads = 1;
  return o;
}

tern::Result<std::unique_ptr<Session>> LoadProto(const ModelProto& m) {
  std::string s = Serialize(m);
  return Session::LoadFromMemory(s.data(), s.size(), Opts());
}

/// Asserts `r` failed and its message contains every one of `needles`.
template <typename R>
void ExpectError(const R& r, std::initializer_list<const char*> needles,
                 StatusCode code = StatusCode::kOk) {
  ASSERT_FALSE(r.ok()) << "expected an error containing '" << *needles.begin() << "'";
  const std::string& msg = r.status().message();
  for (const char* n : needles) {
    EXPECT_NE(msg.find(n), std::string::npos) << "message: " << r.status().ToString();
  }
  if (code != StatusCode::kOk) {
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  }
}

void ExpectStatusError(const tern::Status& st, std::initializer_list<const char*> needles,
                       StatusCode code = StatusCode::kOk) {
  ASSERT_FALSE(st.ok()) << "expected an error containing '" << *needles.begin() << "'";
  for (const char* n : needles) {
    EXPECT_NE(st.message().find(n), std::string::npos) << "message: " << st.ToString();
  }
  if (code != StatusCode::kOk) {
    EXPECT_EQ(st.code(), code) << st.ToString();
  }
}

Tensor Zeros(DataType t, Shape s) { return Tensor::Allocate(t, s).value(); }

// ---- corrupt bytes ----

TEST(BadInput, ValidModelLoadsAndRuns) {
  auto s = LoadProto(AddModel());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Value> out;
  auto st = (*s)->Run(
      std::vector<Value>{Zeros(DataType::kFloat32, {2, 3}), Zeros(DataType::kFloat32, {2, 3})},
      &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(out.size(), 1u);
}

TEST(BadInput, EveryTruncation) {
  std::string bytes = Serialize(AddModel());
  int failed = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = Session::LoadFromMemory(bytes.data(), n, Opts());
    if (!r.ok()) {
      ++failed;
      EXPECT_FALSE(r.status().message().empty());
    }
  }
  // A prefix that ends on a field boundary can still be a (smaller) valid message.
  EXPECT_GE(failed, static_cast<int>(bytes.size()) * 9 / 10);
  auto r = Session::LoadFromMemory(bytes.data(), bytes.size() / 2, Opts());
  ExpectError(r, {"truncated or corrupt"}, StatusCode::kInvalidModel);
}

TEST(BadInput, RandomByteFlips) {
  tern::fuzz::ScopedFuzzLimits limits;
  std::string good = Serialize(AddModel());
  std::mt19937 rng(1234);
  for (int i = 0; i < 2000; ++i) {
    std::string b = good;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] ^= static_cast<char>(1 + rng() % 255);
    tern::fuzz::FuzzModelLoad(reinterpret_cast<const uint8_t*>(b.data()), b.size());
  }
}

TEST(BadInput, Garbage) {
  std::string junk(1000, '\xff');
  ExpectError(Session::LoadFromMemory(junk.data(), junk.size(), Opts()), {"protobuf parse failed"});
  ExpectError(Session::LoadFromMemory(nullptr, 0, Opts()), {"IR version 0"});
}

// ---- graph structure ----

TEST(BadInput, Cycle) {
  auto m = AddModel();
  auto* g = m.mutable_graph();
  g->mutable_node(0)->set_input(1, "w");
  AddNode(g, "Identity", {"z"}, {"w"}, "back");
  ExpectError(LoadProto(m), {"cycle"}, StatusCode::kInvalidModel);
}

TEST(BadInput, SelfLoop) {
  auto m = AddModel();
  m.mutable_graph()->mutable_node(0)->set_input(1, "z");
  ExpectError(LoadProto(m), {"cycle", "Add"}, StatusCode::kInvalidModel);
}

TEST(BadInput, DanglingInput) {
  auto m = AddModel();
  m.mutable_graph()->mutable_node(0)->set_input(1, "nowhere");
  ExpectError(LoadProto(m), {"'nowhere'", "not defined"}, StatusCode::kInvalidModel);
}

TEST(BadInput, DanglingGraphOutput) {
  auto m = AddModel();
  AddOutput(m.mutable_graph(), "ghost");
  ExpectError(LoadProto(m), {"'ghost'"}, StatusCode::kInvalidModel);
}

TEST(BadInput, DuplicateOutputNames) {
  auto m = AddModel();
  AddNode(m.mutable_graph(), "Identity", {"x"}, {"z"});
  ExpectError(LoadProto(m), {"'z'", "more than once"}, StatusCode::kInvalidModel);
  auto m2 = AddModel();
  AddNode(m2.mutable_graph(), "Identity", {"x"}, {"x"});
  ExpectError(LoadProto(m2), {"'x'", "more than once"}, StatusCode::kInvalidModel);
}

TEST(BadInput, DuplicateGraphInput) {
  auto m = AddModel();
  AddInput(m.mutable_graph(), "x", TensorProto::FLOAT, {2, 3});
  ExpectError(LoadProto(m), {"'x'", "declared twice"}, StatusCode::kInvalidModel);
}

TEST(BadInput, NodeArity) {
  auto m = AddModel();
  m.mutable_graph()->mutable_node(0)->clear_input();
  m.mutable_graph()->mutable_node(0)->add_input("x");
  ExpectError(LoadProto(m), {"Add 'add'", "needs 2 inputs"});
  auto m2 = AddModel();
  m2.mutable_graph()->mutable_node(0)->set_input(0, "");
  ExpectError(LoadProto(m2), {"Add 'add'", "needs 2 inputs"});
}

// ---- tensors in the file ----

TEST(BadInput, RawDataLengthMismatch) {
  auto m = AddModel();
  AddFloatInit(m.mutable_graph(), "w", {4}, {1, 2, 3});
  ExpectError(LoadProto(m), {"initializer 'w'", "raw_data has 12 bytes", "needs 16"},
              StatusCode::kInvalidModel);
}

TEST(BadInput, TypedDataCountMismatch) {
  auto m = AddModel();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(TensorProto::INT64);
  t->add_dims(3);
  t->add_int64_data(1);
  ExpectError(LoadProto(m), {"'w'", "has 1 values", "needs 3"}, StatusCode::kInvalidModel);
}

TEST(BadInput, DimsOverflowInt64) {
  auto m = AddModel();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("huge");
  t->set_data_type(TensorProto::FLOAT);
  t->add_dims(int64_t{1} << 40);
  t->add_dims(int64_t{1} << 40);
  ExpectError(LoadProto(m), {"'huge'", "too large"}, StatusCode::kResourceExhausted);
}

TEST(BadInput, DimsOverflowBehindAZero) {
  // No elements, but strides over the other dims would overflow int64.
  auto m = AddModel();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("z");
  t->set_data_type(TensorProto::FLOAT);
  t->add_dims(0);
  t->add_dims(int64_t{1} << 62);
  t->add_dims(int64_t{1} << 62);
  ExpectError(LoadProto(m), {"'z'", "too large"}, StatusCode::kResourceExhausted);
}

TEST(BadInput, DimsExceedMemoryWithoutData) {
  // 4 TiB: over the per-tensor limit.
  auto m = AddModel();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("big");
  t->set_data_type(TensorProto::FLOAT);
  t->add_dims(int64_t{1} << 20);
  t->add_dims(int64_t{1} << 20);
  ExpectError(LoadProto(m), {"'big'", "too large"}, StatusCode::kResourceExhausted);
  // 4 GiB: under the limit, but the file does not carry the data; must fail before allocating.
  auto m2 = AddModel();
  t = m2.mutable_graph()->add_initializer();
  t->set_name("big");
  t->set_data_type(TensorProto::STRING);
  t->add_dims(int64_t{1} << 27);
  ExpectError(LoadProto(m2), {"'big'", "has 0 values"}, StatusCode::kInvalidModel);
}

TEST(BadInput, NegativeDim) {
  auto m = AddModel();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("neg");
  t->set_data_type(TensorProto::FLOAT);
  t->add_dims(-3);
  ExpectError(LoadProto(m), {"'neg'", "negative dimension"}, StatusCode::kInvalidModel);
}

TEST(BadInput, UnknownDataType) {
  auto m = AddModel();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("weird");
  t->set_data_type(77);
  ExpectError(LoadProto(m), {"'weird'", "unsupported data type 77"}, StatusCode::kInvalidModel);
  auto m2 = AddModel();
  m2.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(99);
  ExpectError(LoadProto(m2), {"unknown element type 99"}, StatusCode::kInvalidModel);
}

TEST(BadInput, BoolGarbageIsNormalised) {
  auto proto = TensorProto();
  proto.set_data_type(TensorProto::BOOL);
  proto.add_dims(3);
  proto.set_raw_data(std::string("\x00\x02\xff", 3));
  std::string s;
  proto.SerializeToString(&s);
  tern::fuzz::ScopedFuzzLimits limits;
  EXPECT_TRUE(tern::fuzz::FuzzTensorProto(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

// ---- model header ----

TEST(BadInput, IrVersion) {
  auto m = AddModel();
  m.set_ir_version(2);
  ExpectError(LoadProto(m), {"IR version 2"}, StatusCode::kNotImplemented);
  m.set_ir_version(99);
  ExpectError(LoadProto(m), {"IR version 99"}, StatusCode::kNotImplemented);
}

TEST(BadInput, AbsurdOpsetVersion) {
  auto m = AddModel();
  m.mutable_opset_import(0)->set_version(int64_t{1} << 40);
  ExpectError(LoadProto(m), {"opset version"}, StatusCode::kInvalidModel);
}

TEST(BadInput, UnknownOp) {
  auto m = AddModel();
  m.mutable_graph()->mutable_node(0)->set_op_type("FrobnicateX");
  ExpectError(LoadProto(m), {"FrobnicateX"}, StatusCode::kNotImplemented);
  auto m2 = AddModel();
  m2.mutable_graph()->mutable_node(0)->set_domain("com.example");
  ExpectError(LoadProto(m2), {"com.example"}, StatusCode::kInvalidModel);
}

TEST(BadInput, DeeplyNestedSubgraphs) {
  for (int depth : {5, 40, 100, 1000}) {
    SCOPED_TRACE(depth);
    auto m = NestedIfModel(depth);
    auto r = LoadProto(m);
    ASSERT_FALSE(r.ok());
    if (depth > 30)  // protobuf's recursion limit or ours, whichever comes first
      EXPECT_TRUE(r.status().message().find("nested too deeply") != std::string::npos ||
                  r.status().message().find("parse failed") != std::string::npos)
          << r.status().ToString();
    else
      EXPECT_NE(r.status().message().find("If"), std::string::npos) << r.status().ToString();
  }
}

TEST(BadInput, AttributeOfWrongType) {
  auto m = MakeModel();
  auto* g = m.mutable_graph();
  auto* c = AddNode(g, "Constant", {}, {"c"}, "k");
  auto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(3);
  AddOutput(g, "c");
  ExpectError(LoadProto(m), {"Constant 'k'", "'value'"});
  // Declared a tensor, holds nothing.
  a->set_type(::onnx::AttributeProto::TENSOR);
  ExpectError(LoadProto(m), {"Constant 'k'", "'value'"});
}

TEST(BadInput, DuplicateAttribute) {
  auto m = AddModel();
  for (int i = 0; i < 2; ++i) {
    auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
    a->set_name("alpha");
    a->set_type(::onnx::AttributeProto::FLOAT);
  }
  ExpectError(LoadProto(m), {"'alpha'", "given twice"}, StatusCode::kInvalidModel);
}

// ---- inputs at run time ----

class BadRunInput : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = LoadProto(AddModel());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    session_ = std::move(s).value();
  }
  tern::Status Run(std::vector<Value> in) {
    std::vector<Value> out;
    return session_->Run(in, &out);
  }
  std::unique_ptr<Session> session_;
};

TEST_F(BadRunInput, WrongDtype) {
  ExpectStatusError(Run({Zeros(DataType::kInt64, {2, 3}), Zeros(DataType::kFloat32, {2, 3})}),
                    {"input 'x'", "expected float32, got int64"}, StatusCode::kInvalidArgument);
}

TEST_F(BadRunInput, WrongRank) {
  ExpectStatusError(Run({Zeros(DataType::kFloat32, {6}), Zeros(DataType::kFloat32, {2, 3})}),
                    {"input 'x'", "expected rank 2"}, StatusCode::kInvalidArgument);
}

TEST_F(BadRunInput, WrongFixedDim) {
  ExpectStatusError(Run({Zeros(DataType::kFloat32, {2, 3}), Zeros(DataType::kFloat32, {2, 4})}),
                    {"input 'y'", "dimension 1 must be 3"}, StatusCode::kInvalidArgument);
}

TEST_F(BadRunInput, MissingInput) {
  ExpectStatusError(Run({Zeros(DataType::kFloat32, {2, 3})}), {"takes 2 inputs, got 1"},
                    StatusCode::kInvalidArgument);
  std::vector<Value> out;
  std::map<std::string, Value> named{{"x", Zeros(DataType::kFloat32, {2, 3})}};
  ExpectStatusError(session_->Run(named, &out), {"missing input 'y'"},
                    StatusCode::kInvalidArgument);
  named["q"] = Zeros(DataType::kFloat32, {2, 3});
  ExpectStatusError(session_->Run(named, &out), {"no input named 'q'"},
                    StatusCode::kInvalidArgument);
}

TEST_F(BadRunInput, MalformedTensors) {
  Tensor ok = Zeros(DataType::kFloat32, {2, 3});
  ExpectStatusError(Run({Value(), ok}), {"input 'x'", "must be a tensor"});
  ExpectStatusError(Run({Value(Tensor()), ok}), {"input 'x'", "undefined tensor"});
  ExpectStatusError(Run({Tensor::Wrap(DataType::kFloat32, Shape{2, 3}, nullptr), ok}),
                    {"input 'x'", "no data"});
  float buf[6] = {};
  ExpectStatusError(Run({Tensor::Wrap(DataType::kFloat32, Shape{2, -3}, buf), ok}),
                    {"input 'x'", "negative dimension"});
  ExpectStatusError(Run({Value::Sequence({}, DataType::kFloat32), ok}),
                    {"input 'x'", "must be a tensor"});
}

TEST(BadInput, UntypedInputStillChecked) {
  auto m = AddModel();
  m.mutable_graph()->mutable_input(0)->clear_type();
  auto s = LoadProto(m);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Value> out;
  ExpectStatusError(
      (*s)->Run(std::vector<Value>{Tensor::Wrap(DataType::kFloat32, Shape{2, 3}, nullptr),
                                   Zeros(DataType::kFloat32, {2, 3})},
                &out),
      {"input 'x'", "no data"});
  auto st = (*s)->Run(
      std::vector<Value>{Zeros(DataType::kInt32, {2, 3}), Zeros(DataType::kFloat32, {2, 3})}, &out);
  ExpectStatusError(st, {"Add 'add'", "types differ"});
}

// ---- allocation limits ----

TEST(BadInput, TensorLimitDefault) {
  EXPECT_EQ(tern::MaxTensorBytes(), uint64_t{8} << 30);
  auto r = Tensor::Allocate(DataType::kFloat32, Shape{int64_t{1} << 31, 2});
  ExpectError(r, {"too large"}, StatusCode::kResourceExhausted);
  uint64_t old = tern::SetMaxTensorBytes(1 << 20);
  EXPECT_EQ(old, uint64_t{8} << 30);
  ExpectError(Tensor::Allocate(DataType::kFloat32, Shape{1 << 19}), {"too large"},
              StatusCode::kResourceExhausted);
  EXPECT_TRUE(Tensor::Allocate(DataType::kFloat32, Shape{1 << 18}).ok());
  tern::SetMaxTensorBytes(0);
  EXPECT_EQ(tern::MaxTensorBytes(), uint64_t{8} << 30);
}

TEST(BadInput, FailedAllocationIsResourceExhausted) {
  // Over any machine's memory but under the (raised) limit: the allocator itself must fail.
  uint64_t old = tern::SetMaxTensorBytes(uint64_t{1} << 52);
  auto r = Tensor::Allocate(DataType::kUInt8, Shape{int64_t{1} << 50});
  tern::SetMaxTensorBytes(old);
  ExpectError(r, {"out of memory"}, StatusCode::kResourceExhausted);
}

TEST(BadInput, BroadcastBlowUpHitsTheLimit) {
  // Three small initializers broadcast to 2048^3 floats (32 GiB): refused, not allocated.
  auto m = MakeModel();
  auto* g = m.mutable_graph();
  std::vector<float> v(2048, 1.f);
  AddFloatInit(g, "a", {2048, 1, 1}, v);
  AddFloatInit(g, "b", {1, 2048, 1}, v);
  AddFloatInit(g, "c", {1, 1, 2048}, v);
  AddNode(g, "Add", {"a", "b"}, {"ab"});
  AddNode(g, "Add", {"ab", "c"}, {"abc"}, "blowup");
  AddOutput(g, "abc");
  auto s = LoadProto(m);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<Value> out;
  ExpectStatusError((*s)->Run(std::vector<Value>{}, &out), {"Add 'blowup'", "too large"},
                    StatusCode::kResourceExhausted);
}

// ---- external data ----

class ExternalData : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("tern_bad_input_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "model");
    std::ofstream(root_ / "outside.bin", std::ios::binary) << std::string(16, '\0');
    std::ofstream(root_ / "model" / "inside.bin", std::ios::binary) << std::string(16, '\0');
  }
  void TearDown() override { fs::remove_all(root_); }

  tern::Result<std::unique_ptr<Session>> LoadWithLocation(const std::string& location) {
    auto m = MakeModel();
    auto* g = m.mutable_graph();
    auto* t = g->add_initializer();
    t->set_name("w");
    t->set_data_type(TensorProto::FLOAT);
    t->add_dims(4);
    t->set_data_location(TensorProto::EXTERNAL);
    auto* kv = t->add_external_data();
    kv->set_key("location");
    kv->set_value(location);
    AddNode(g, "Identity", {"w"}, {"y"});
    AddOutput(g, "y");
    std::string path = (root_ / "model" / "model.onnx").string();
    std::ofstream(path, std::ios::binary) << Serialize(m);
    return Session::Load(path, Opts());
  }
  fs::path root_;
};

TEST_F(ExternalData, InsideLoads) {
  auto r = LoadWithLocation("inside.bin");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(ExternalData, DotDotRefused) {
  ExpectError(LoadWithLocation("../outside.bin"), {"'../outside.bin'", "inside the model's folder"},
              StatusCode::kInvalidModel);
  ExpectError(LoadWithLocation("../x"), {"'../x'"}, StatusCode::kInvalidModel);
}

TEST_F(ExternalData, AbsoluteRefused) {
  ExpectError(LoadWithLocation("/etc/passwd"), {"'/etc/passwd'", "inside the model's folder"},
              StatusCode::kInvalidModel);
}

TEST_F(ExternalData, SymlinkOutsideRefused) {
  fs::create_symlink(root_ / "outside.bin", root_ / "model" / "link.bin");
  ExpectError(LoadWithLocation("link.bin"), {"'link.bin'", "outside the model's folder"},
              StatusCode::kInvalidModel);
}

TEST_F(ExternalData, FifoDoesNotHang) {
  ASSERT_EQ(mkfifo((root_ / "model" / "pipe").c_str(), 0600), 0);
  ExpectError(LoadWithLocation("pipe"), {"'pipe'", "not a regular file"}, StatusCode::kIoError);
}

TEST_F(ExternalData, RangeOutsideFile) {
  ExpectError(LoadWithLocation("missing.bin"), {"'missing.bin'"}, StatusCode::kIoError);
  std::ofstream(root_ / "model" / "short.bin", std::ios::binary) << std::string(8, '\0');
  ExpectError(LoadWithLocation("short.bin"), {"does not fit"}, StatusCode::kInvalidModel);
}

TEST(BadInput, ExternalDataFromMemoryRefused) {
  auto m = AddModel();
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(TensorProto::FLOAT);
  t->set_data_location(TensorProto::EXTERNAL);
  ExpectError(LoadProto(m), {"'w'", "external data"}, StatusCode::kInvalidModel);
}

}  // namespace
