// Helpers shared by the files of src/onnx/ (protobuf types appear only here).
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <string>
#include <vector>

#include "tern/tensor.h"

namespace tern::onnx {

struct TensorSource {
  std::shared_ptr<void> keepalive;  ///< owner of the parsed message; enables zero-copy raw_data
  std::string model_dir;            ///< confines external data; empty forbids it
  std::vector<std::shared_ptr<void>>* mappings = nullptr;  ///< mapped external files to keep
};

Result<Tensor> TensorFromProto(const ::onnx::TensorProto& proto, const TensorSource& source);
void TensorToProto(const Tensor& t, const std::string& name, ::onnx::TensorProto* proto);
/// ONNX TensorProto data types 21 (UINT4) and 22 (INT4): two values per byte, low nibble first.
/// Tern holds them unpacked as uint8 / int8 (one value per byte).
constexpr int32_t kProtoUInt4 = 21;
constexpr int32_t kProtoInt4 = 22;
/// The Tern type that holds an ONNX element type (21/22 map to uint8/int8; others unchanged).
int32_t UnpackedElemType(int32_t proto_type);
/// Writes an int8 (values in [-8, 7]) or uint8 (values in [0, 15]) tensor as INT4 / UINT4.
Status Int4TensorToProto(const Tensor& t, const std::string& name, ::onnx::TensorProto* proto);
Result<Tensor> LoadExternal(const ::onnx::TensorProto& proto, DataType type, const Shape& shape,
                            const TensorSource& source);

}  // namespace tern::onnx
