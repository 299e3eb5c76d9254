// libFuzzer target: arbitrary bytes as a TensorProto / SequenceProto / OptionalProto
// (onnx::ParseTensor and onnx::ParseValue), round-tripped through SerializeValue.
#include <cstddef>
#include <cstdint>

#include "fuzz_bodies.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static tern::fuzz::ScopedFuzzLimits limits;  // for the whole process
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tern::fuzz::FuzzTensorProto(data, size);
  return 0;
}
