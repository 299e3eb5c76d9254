// Writes trained values back into an ONNX model: parses the original ModelProto, replaces the
// named initializers (same type and shape), and serializes it again. Everything else in the file
// (graph, metadata, opsets, other initializers) is kept as it was. Not a general exporter.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tern/status.h"
#include "tern/tensor.h"

namespace tern::onnx {

/// Returns `model_bytes` with the listed initializers replaced (stored as raw_data).
Result<std::string> UpdateInitializers(const std::string& model_bytes,
                                       const std::vector<std::pair<std::string, Tensor>>& values);
/// Reads `in_path`, replaces the initializers and writes `out_path`.
Status UpdateInitializersFile(const std::string& in_path, const std::string& out_path,
                              const std::vector<std::pair<std::string, Tensor>>& values);

/// A small CNN for 1x28x28 images and 10 classes with random (He-initialised) weights:
/// Conv3x3(16)+BN+Relu+MaxPool2, Conv3x3(32)+BN+Relu+MaxPool2, Flatten, Gemm(10).
/// Input "image" float32 [N,1,28,28], output "logits" [N,10]. Serialized ModelProto.
std::string BuildSmallImageCnn(uint64_t seed, int channels1 = 16, int channels2 = 32);

/// A multilayer perceptron for 1 x side x side images: Flatten, Gemm(hidden)+Relu, Gemm(classes)
/// (hidden = 0 leaves out the hidden layer: softmax regression). Input "image" float32
/// [N,1,side,side], output "logits" [N,classes]; weights are He-initialised from `seed`.
/// Small enough to train many simulated federated clients on a few cores.
std::string BuildImageMlp(uint64_t seed, int side = 28, int hidden = 128, int classes = 10);

}  // namespace tern::onnx
