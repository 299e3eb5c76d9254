// The ONNX boundary: model import and export, opset conversion, and
// TensorProto/SequenceProto/OptionalProto (de)serialisation. libonnx and protobuf are used only
// inside src/onnx/.
#pragma once

#include <set>
#include <string>

#include "ir/graph.h"
#include "tern/status.h"
#include "tern/value.h"

namespace tern::onnx {

struct ImportOptions {
  /// Folder that external data files must live in; empty forbids external data.
  std::string model_dir;
  uint64_t max_model_bytes = uint64_t{4} << 30;
};

/// Parses and validates a serialized ModelProto. Initializers point into the parsed message
/// (kept alive by the model) instead of being copied where their layout allows.
Result<ir::Model> ImportModel(const void* data, size_t size, const ImportOptions& options);
/// Reads a model file (size-checked) and imports it; external data is confined to its folder.
Result<ir::Model> ImportModelFile(const std::string& path, uint64_t max_model_bytes);

/// Decodes a serialized TensorProto (the backend-test `.pb` files).
Result<Tensor> ParseTensor(const std::string& bytes);
/// Decodes a TensorProto, SequenceProto or OptionalProto according to `type`.
Result<Value> ParseValue(const std::string& bytes, const ir::TypeInfo& type);
/// Encodes a value as TensorProto (tensors), SequenceProto or OptionalProto.
Result<std::string> SerializeValue(const Value& value, const std::string& name, bool optional);

/// Serializes a model as ModelProto bytes: initializers inline (raw_data), the inferred types of
/// intermediate values as value_info. Importing the result gives the same graph.
Result<std::string> ExportModel(const ir::Model& model);
struct ExportOptions {
  /// Main-graph int8 / uint8 initializers written as ONNX INT4 / UINT4 (packed two per byte);
  /// export fails when a value does not fit in 4 bits.
  std::set<std::string> int4_initializers;
};
Result<std::string> ExportModel(const ir::Model& model, const ExportOptions& options);
/// Rewrites the model for ai.onnx opset `target` with libonnx's version converter (for passes
/// that insert ops newer than the model's opset); fails when an op cannot be converted.
Result<ir::Model> ConvertOpset(const ir::Model& model, int64_t target);

/// Reads a whole file, refusing files larger than `max_bytes`.
Result<std::string> ReadFile(const std::string& path, uint64_t max_bytes);

}  // namespace tern::onnx
