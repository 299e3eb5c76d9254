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
Result<Tensor> LoadExternal(const ::onnx::TensorProto& proto, DataType type, const Shape& shape,
                            const TensorSource& source);

}  // namespace tern::onnx
