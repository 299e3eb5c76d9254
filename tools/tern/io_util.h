// Reading and writing backend-test values for the CLI.
#pragma once

#include <string>

#include "onnx/onnx_import.h"
#include "tern/session.h"

namespace tern::cli {

inline ir::TypeInfo TypeOf(const IoInfo& io) {
  ir::TypeInfo t;
  switch (io.kind) {
    case IoInfo::Kind::kSequence: t.kind = ir::TypeInfo::Kind::kSequence; break;
    case IoInfo::Kind::kOptional: t.kind = ir::TypeInfo::Kind::kOptional; break;
    default: t.kind = ir::TypeInfo::Kind::kTensor; break;
  }
  if (t.kind != ir::TypeInfo::Kind::kTensor) {
    t.inner = std::make_shared<ir::TypeInfo>();
    t.inner->kind = ir::TypeInfo::Kind::kTensor;
    t.inner->elem = io.dtype;
  }
  t.elem = io.dtype;
  return t;
}

inline Result<Value> ReadValueFile(const std::string& path, const IoInfo& io) {
  TERN_ASSIGN_OR_RETURN(std::string bytes, onnx::ReadFile(path, uint64_t{4} << 30));
  auto v = onnx::ParseValue(bytes, TypeOf(io));
  if (!v.ok()) return v.status().WithContext(path);
  // ONNX's backend test data (before 1.14) stores bfloat16 tensors with data_type UINT16:
  // the bits are bfloat16's, so relabel them when the model declares bfloat16.
  if (io.dtype == DataType::kBFloat16 && v->is_tensor() && v->tensor.dtype() == DataType::kUInt16) {
    Tensor& t = v->tensor;
    t = Tensor::WrapShared(DataType::kBFloat16, t.shape(), t.raw(), t.holder());
  }
  return v;
}

}  // namespace tern::cli
