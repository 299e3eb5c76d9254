#include "fuzz_bodies.h"

#include <memory>
#include <string>
#include <vector>

#include "ir/graph.h"
#include "onnx/onnx_import.h"
#include "tern/session.h"

namespace tern::fuzz {

ScopedFuzzLimits::ScopedFuzzLimits() : saved_(SetMaxTensorBytes(kFuzzMaxTensorBytes)) {}
ScopedFuzzLimits::~ScopedFuzzLimits() { SetMaxTensorBytes(saved_); }

namespace {

/// A zero value for a declared input, or false when none can be made within the limits.
bool MakeInput(const IoInfo& io, Value* out) {
  switch (io.kind) {
    case IoInfo::Kind::kSequence:
      *out = Value::Sequence({}, io.dtype);
      return true;
    case IoInfo::Kind::kOptional:
      *out = Value::EmptyOptional();
      return true;
    case IoInfo::Kind::kOther:
      return false;
    case IoInfo::Kind::kTensor:
      break;
  }
  DataType type = io.dtype == DataType::kUndefined ? DataType::kFloat32 : io.dtype;
  if (!IsValidDataType(static_cast<int32_t>(type))) return false;
  Shape shape;
  uint64_t bytes = DataTypeSize(type);
  if (io.has_shape) {
    for (int64_t d : io.dims) {
      int64_t dim = d < 0 ? 1 : d;
      if (dim > 0 && bytes > kFuzzMaxInputBytes / static_cast<uint64_t>(dim)) return false;
      bytes *= static_cast<uint64_t>(dim);
      shape.push_back(dim);
    }
  }
  if (bytes > kFuzzMaxInputBytes) return false;
  auto t = Tensor::Allocate(type, shape);
  if (!t.ok()) return false;
  *out = Value(std::move(t).value());
  return true;
}

}  // namespace

bool FuzzModelLoad(const uint8_t* data, size_t size) {
  SessionOptions options;
  options.threads = 1;
  auto loaded = Session::LoadFromMemory(data, size, options);
  if (!loaded.ok()) {
    // Every error must say something.
    if (loaded.status().message().empty()) __builtin_trap();
    return false;
  }
  const Session& session = **loaded;
  (void)session.OpHistogram();
  for (const auto& io : session.outputs()) (void)io.ShapeString();
  std::vector<Value> inputs(session.inputs().size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    (void)session.inputs()[i].ShapeString();
    if (!MakeInput(session.inputs()[i], &inputs[i])) return true;
  }
  for (int run = 0; run < 2; ++run) {
    std::vector<Value> outputs;
    Status st = session.Run(inputs, &outputs);
    if (!st.ok()) {
      if (st.message().empty()) __builtin_trap();
      break;
    }
    if (outputs.size() != session.outputs().size()) __builtin_trap();
  }
  return true;
}

bool FuzzTensorProto(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  bool any = false;
  auto round_trip = [&](const Value& v, const ir::TypeInfo& type, bool optional) {
    any = true;
    auto s = onnx::SerializeValue(v, "x", optional);
    if (!s.ok()) return;
    auto again = onnx::ParseValue(*s, type);
    // What we wrote we must be able to read back.
    if (!again.ok()) __builtin_trap();
  };
  {
    auto t = onnx::ParseTensor(bytes);
    if (t.ok()) round_trip(Value(*t), ir::TypeInfo{}, false);
  }
  ir::TypeInfo tensor_type;
  tensor_type.kind = ir::TypeInfo::Kind::kTensor;
  tensor_type.elem = DataType::kFloat32;
  ir::TypeInfo seq_type;
  seq_type.kind = ir::TypeInfo::Kind::kSequence;
  seq_type.inner = std::make_shared<ir::TypeInfo>(tensor_type);
  ir::TypeInfo opt_type;
  opt_type.kind = ir::TypeInfo::Kind::kOptional;
  opt_type.inner = std::make_shared<ir::TypeInfo>(tensor_type);
  {
    auto v = onnx::ParseValue(bytes, seq_type);
    if (v.ok()) round_trip(*v, seq_type, false);
  }
  {
    auto v = onnx::ParseValue(bytes, opt_type);
    if (v.ok()) round_trip(*v, opt_type, true);
  }
  return any;
}

}  // namespace tern::fuzz
